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
# # 02 · Everything is slow
#
# You are on call. The page (`labs/02-everything-is-slow/README.md`) says every route is
# slow, the health check too, while the CPU is not busy. Walk the diagnosis on the live stack:
# see the slowdown on the dashboard, find what the event loop was doing when it should have
# been serving requests, name the function, and check that the latency comes back.

# %% tags=["parameters"]
import os
from pathlib import Path

RUN_DIR = Path(os.environ.get("LABCTL_RUN_DIR", "../run"))
SECONDS = float(os.environ.get("LAB_NOTEBOOK_SECONDS", "10"))  # capture length
LAB = "02"

# %% [markdown]
# ## 1. The stack, and a healthy baseline
#
# The lab's load runs first with nothing wrong, so the charts below have a "before".
# `Walkthrough` (in `labctl/course/walkthrough.py`) is the arc every lab notebook follows.

# %%
# %matplotlib inline
from IPython.display import display
from rich.console import Console

from labctl.course.walkthrough import Walkthrough

walk = Walkthrough.begin(RUN_DIR, LAB, settle_seconds=SECONDS)
print(f"lab {walk.lab.number}: {walk.lab.title}. {walk.lab.question}")
print("baseline:", walk.baseline)

# %% [markdown]
# ## 2. The incident starts
#
# `labctl lab start 02` does this: the lab's load, then its fault, without saying which.
# We wait until Prometheus shows what the page describes.

# %%
print("now:", walk.page())

# %% [markdown]
# ## 3. The symptom, as the dashboards show it
#
# Latency by route (Service overview) and the event-loop lag (Python runtime). The lag probe
# is a task that sleeps a quarter of a second and measures how late it wakes up: when it is
# late, *every* coroutine was late, whatever route it served. Slow everywhere and late
# wake-ups, with a CPU that is not busy, means the loop's own thread is waiting on something.

# %%
display(walk.plot("Latency p50 and p99 by route"))
display(walk.plot("Event-loop lag p99"))

# %% [markdown]
# ## 4. Evidence: where the loop was when it stalled
#
# The debug surface runs a watchdog thread (like `asyncio` debug mode's slow-callback log, but
# always on and cheap): when the loop misses a beat, it samples the loop thread's stack. Each
# stall is located at the innermost application frame. `labctl profile loop` prints the same.

# %%
import collections

from labctl.render.tables import loop_table

report = walk.patient.loop()
Console().print(loop_table(report))
# The watchdog keeps its last stalls whatever their age: count those since the page only.
blocked = collections.Counter[str]()
for stall in report.stalls:
    if stall.location is not None and stall.started_at >= walk.marks["paged"]:
        blocked[stall.location.function] += stall.seconds
function, seconds = blocked.most_common(1)[0]
print(f"{seconds:.2f} s of the recorded stalls were in {function}")

# %% [markdown]
# ## 5. Name the culprit
#
# The same grading as `labctl lab check 02 --answer <function>`.

# %%
verdict = walk.grade(function)
print(verdict.message)
assert verdict.correct, "the function the loop stalled in most should be the culprit"

# %% [markdown]
# ## 6. Recovery
#
# Switch the fault off (in real life: move the call off the loop, `await
# asyncio.to_thread(...)`, or use an async client) with the load still running.

# %%
print("after:", walk.recover(hold_seconds=SECONDS))
display(walk.plot("Event-loop lag p99"))

# %%
walk.end()  # load stopped, every fault off: the stack as we found it
