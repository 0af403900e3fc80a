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
# # 01 · Memory creeps up
#
# You are on call. The page (`labs/01-memory-creeps-up/README.md`) says resident memory
# grows and does not level off. Walk the diagnosis on the live stack: see the growth on the
# dashboard, find the allocations that stay alive, name the function that makes them, and
# check that memory stops growing. Something will be switched on for you; which is the question.

# %% tags=["parameters"]
import os
from pathlib import Path

RUN_DIR = Path(os.environ.get("LABCTL_RUN_DIR", "../run"))
SECONDS = float(os.environ.get("LAB_NOTEBOOK_SECONDS", "10"))  # capture length
LAB = "01"

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
# `labctl lab start 01` does this: the lab's load, then its fault, without saying which.
# We wait until Prometheus shows what the page describes.

# %%
print("now:", walk.page())

# %% [markdown]
# ## 3. The symptom, as the dashboard shows it
#
# "Resident memory" and "Python heap blocks" from the Python runtime dashboard. RSS alone
# could be the allocator keeping freed arenas; live Python blocks growing too means objects
# are being kept.

# %%
display(walk.plot("Resident memory"))
display(walk.plot("Python heap blocks"))

# %% [markdown]
# ## 4. Evidence: what was allocated in a window and is still alive at its end
#
# The debug surface traces allocations with tracemalloc for a window (like pprof's
# `heap?seconds=`) and ranks what grew by allocation site. On a process that is not ours,
# `labctl profile heap --pid P` gets the same report from memray attach.

# %%
from labctl.render.tables import heap_table

report = walk.patient.heap_window(SECONDS)
Console().print(heap_table(report))
top = report.growth[0]
print(f"most bytes kept: {top.location.function} ({top.bytes / 2**20:.1f} MiB in {SECONDS:g} s)")

# %% [markdown]
# ## 5. Name the culprit
#
# The same grading as `labctl lab check 01 --answer <function>`.

# %%
verdict = walk.grade(top.location.function)
print(verdict.message)
assert verdict.correct, "the top growth site should be the culprit"

# %% [markdown]
# ## 6. Recovery
#
# Switch the fault off (in real life: ship the fix) with the load still running. The chart
# marks the page and the fix: before, during, after.

# %%
print("after:", walk.recover())
display(walk.plot("Resident memory"))

# %%
walk.end()  # load stopped, every fault off: the stack as we found it
