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
# # 04 · Tasks pile up
#
# You are on call. The page (`labs/04-tasks-pile-up/README.md`) says the number of live
# asyncio tasks keeps climbing. Walk the diagnosis on the live stack: see the climb on the
# dashboard, group the live tasks by where they were created, name the function that creates
# the ones that never finish, and check the count comes back down.

# %% tags=["parameters"]
import os
from pathlib import Path

RUN_DIR = Path(os.environ.get("LABCTL_RUN_DIR", "../run"))
SECONDS = float(os.environ.get("LAB_NOTEBOOK_SECONDS", "10"))  # capture length
LAB = "04"

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
# `labctl lab start 04` does this: the lab's load, then its fault, without saying which.
# We wait until Prometheus shows what the page describes.

# %%
print("now:", walk.page())

# %% [markdown]
# ## 3. The symptom, as the dashboard shows it

# %%
display(walk.plot("asyncio tasks"))

# %% [markdown]
# ## 4. Evidence: live tasks grouped by creation site
#
# The debug surface's task factory records where each task was created (cheaply: a frame
# walk at creation). `labctl profile tasks` renders the same census: the biggest group,
# and what its tasks are waiting on, points at the code that forgets them.

# %%
from labctl.render.tables import tasks_table

census = walk.patient.tasks()
Console().print(tasks_table(census))
biggest = census.groups[0]
print(f"{biggest.count} live tasks created by {biggest.site.function}")

# %% [markdown]
# ## 5. Name the culprit
#
# The same grading as `labctl lab check 04 --answer <function>`.

# %%
verdict = walk.grade(biggest.site.function)
print(verdict.message)
assert verdict.correct, "the biggest group's creation site should be the culprit"

# %% [markdown]
# ## 6. Recovery
#
# Switch the fault off (in real life: ship the fix) with the load still running. The chart
# marks the page and the fix: before, during, after.

# %%
print("after:", walk.recover())
display(walk.plot("asyncio tasks"))

# %%
walk.end()  # load stopped, every fault off: the stack as we found it
