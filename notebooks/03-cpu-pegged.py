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
# # 03 · CPU pegged
#
# You are on call. The page (`labs/03-cpu-pegged/README.md`) says the service burns far more
# CPU than its traffic explains. Walk the diagnosis end to end on the live stack: see the
# symptom on the dashboard's panel, profile the running process, name the function, and check
# that the service recovers. Something will be switched on for you; which thing is the question.

# %% tags=["parameters"]
import os
from pathlib import Path

RUN_DIR = Path(os.environ.get("LABCTL_RUN_DIR", "../run"))
SECONDS = float(os.environ.get("LAB_NOTEBOOK_SECONDS", "10"))  # capture length
LAB = "03"

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
# `labctl lab start 03` does this: the lab's load, then its fault, without saying which.
# We wait until Prometheus shows what the page describes.

# %%
print("now:", walk.page())

# %% [markdown]
# ## 3. The symptom, as the dashboard shows it
#
# The "CPU" panel of the Python runtime dashboard, from the same PromQL. The load generator
# runs at a fixed rate, so the traffic did not change: CPU per request went up.

# %%
display(walk.plot("CPU"))

# %% [markdown]
# ## 4. Evidence: a CPU profile of the live process
#
# py-spy samples the service's stacks from outside. *Self* time is where the CPU goes in
# application code; the flamegraph shows who called it.

# %%
from IPython.display import SVG

from labctl.evidence.probes.pyspy import record_cpu
from labctl.evidence.probes.target import Target
from labctl.render.tables import cpu_table

assert walk.patient.pid is not None
profile = record_cpu(Target(pid=walk.patient.pid), SECONDS, RUN_DIR / "profiles" / "lab-03",
                     echo=walk.echo)  # fmt: skip
Console().print(cpu_table(profile))
display(SVG(filename=profile.artefacts["flamegraph"]))
hottest = profile.top[0]
print(f"hottest application function: {hottest.location.function} ({hottest.self_pct:.0f}% self)")

# %% [markdown]
# ## 5. Name the culprit
#
# The same grading as `labctl lab check 03 --answer <function>`.

# %%
verdict = walk.grade(hottest.location.function)
print(verdict.message)
assert verdict.correct, "the profile's hottest function should be the culprit"

# %% [markdown]
# ## 6. Recovery
#
# Switch the fault off (in real life: ship the fix) with the load still running. The chart
# marks the page and the fix: before, during, after.

# %%
print("after:", walk.recover(hold_seconds=max(3 * SECONDS, 20)))  # the panel's 30 s window
display(walk.plot("CPU"))

# %%
walk.end()  # load stopped, every fault off: the stack as we found it
