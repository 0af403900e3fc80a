# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---


# %% [markdown]
# # 09 · Ten thousand websockets
#
# You are on call. The page (`labs/09-ten-thousand-websockets/README.md`) says memory jumped
# while the number of live subscribers did not change, and capacity planning asks what one
# connection costs (seed Q375: memory per connection). Walk it on the live stack: tell a leak
# from a cost, measure memory per connection, find what every connection holds, name the
# function, and check the cost comes back down.

# %% tags=["parameters"]
import os
from pathlib import Path

RUN_DIR = Path(os.environ.get("LABCTL_RUN_DIR", "../run"))
SECONDS = float(os.environ.get("LAB_NOTEBOOK_SECONDS", "10"))  # capture length
LAB = "09"

# %% [markdown]
# ## 1. The stack, and a healthy baseline
#
# The lab's load is clicks plus a crowd of websocket clients on `/ws/clicks`
# (`labctl.stack.ws_crowd`), each reconnecting every few seconds. It runs first with nothing wrong.

# %%
# %matplotlib inline
from IPython.display import display
from rich.console import Console

from labctl.course.walkthrough import Walkthrough

walk = Walkthrough.begin(RUN_DIR, LAB, settle_seconds=SECONDS)
print(f"lab {walk.lab.number}: {walk.lab.title}. {walk.lab.question}")
per_connection, subscribers = walk.baseline
assert per_connection is not None and subscribers is not None
print(f"baseline: {subscribers:.0f} subscribers, {per_connection / 1024:.0f} KiB of RSS each")

# %% [markdown]
# ## 2. The incident starts
#
# `labctl lab start 09` does this: the lab's load, then its fault, without saying which.
# We wait until Prometheus shows what the page describes.

# %%
print("now:", walk.page())

# %% [markdown]
# ## 3. A leak, or a cost?
#
# A leak grows with time; a cost grows with connections. The subscribers are flat, and
# memory per subscriber (resident memory over connections) jumped and stays: every connection
# now holds more. Resident memory includes the interpreter and the rest of the service, so
# this ratio overstates one connection's cost; its *change* is what one connection added.

# %%
display(walk.plot("Live click subscribers"))
display(walk.plot("Memory per live subscriber"))
per_now, subscribers_now = walk.signals()
assert per_now is not None and subscribers_now is not None
added = (per_now * subscribers_now - per_connection * subscribers) / subscribers_now
print(f"each connection costs about {added / 1024:.0f} KiB more than before")

# %% [markdown]
# ## 4. Evidence: what is allocated and still alive
#
# The crowd renews itself every few seconds, so whatever a connection holds is allocated
# again during any window. The debug surface's tracemalloc window ranks what was allocated in
# the window and is still alive at its end (`labctl diagnose` runs the same; on a process
# that is not ours, `labctl profile heap --pid P` gets it from memray attach).

# %%
from labctl.render.tables import heap_table

# What a connection holds is allocated when it connects, so the window must see enough of the
# crowd renew to outweigh the clicks still in flight to a thousand readers when it ends (the
# send path's buffers, which the handler's frame carries): at least 8 s, some 400 reconnects.
HEAP_SECONDS = max(SECONDS, 8.0)
report = walk.patient.heap_window(HEAP_SECONDS)
Console().print(heap_table(report))
top = report.growth[0]
print(f"most bytes kept: {top.location.function} ({top.bytes / 2**20:.1f} MiB in {top.count} "
      f"allocations, {top.bytes / max(top.count, 1) / 1024:.0f} KiB each)")  # fmt: skip

# %% [markdown]
# ## 5. Name the culprit
#
# The same grading as `labctl lab check 09 --answer <function>`.

# %%
verdict = walk.grade(top.location.function)
print(verdict.message)
assert verdict.correct, "the site that keeps the most bytes should be the culprit"

# %% [markdown]
# ## 6. Recovery
#
# Switch the fault off (in real life: let each connection's backlog grow with the events
# waiting, or keep the list of the stream's own texts) with the crowd still connected.

# %%
print("after:", walk.recover())
display(walk.plot("Memory per live subscriber"))

# %%
walk.end()  # load and crowd stopped, every fault off: the stack as we found it
