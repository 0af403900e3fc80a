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
# # 05 · p99 spikes
#
# You are on call. The page (`labs/05-p99-spikes/README.md`) says the slowest requests got
# much slower while the median did not move. Walk the diagnosis on the live stack: see the
# pauses, find who makes the garbage that the old-generation collections stall on, name the
# function, check the recovery, then compare the GC settings side by side (seed Q379, the
# Python answer to Go's GOGC).

# %% tags=["parameters"]
import os
from pathlib import Path

RUN_DIR = Path(os.environ.get("LABCTL_RUN_DIR", "../run"))
SECONDS = float(os.environ.get("LAB_NOTEBOOK_SECONDS", "10"))  # capture length
LAB = "05"

# %% [markdown]
# ## 1. The stack, and a healthy baseline
#
# The lab's load runs first with nothing wrong, so the charts below have a "before".

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
# `labctl lab start 05` does this: the lab's load, then its fault, without saying which.
# We wait until Prometheus shows what the page describes.

# %%
print("now:", walk.page())

# %% [markdown]
# ## 3. The symptom, as the dashboard shows it
#
# GC pause p99 by generation (Python runtime), fed by `gc.callbacks`: generation 2, the full
# collection, is the one that went from milliseconds to hundreds of them. While it runs, the
# event loop runs nothing else.

# %%
display(walk.plot("GC pause p99 by generation"))
display(walk.plot("GC collections per second by generation"))

# %% [markdown]
# ## 4. Evidence: who was allocating when the slow collections started
#
# A collection starts when allocations outnumber deallocations by the threshold, so the code
# running at that moment is usually the code making the garbage. The debug surface records
# that code for every generation-1 and -2 collection, with the pause it caused
# (`labctl profile gc` prints the same). Since the service started, though, that includes the
# fault's own start-up: read it over a window, as a profile would.

# %%
import time

from labctl.render.tables import gc_table, gc_triggers_table
from labctl.stack.polling import wait_until

before = walk.patient.gc()
time.sleep(SECONDS)
wait_until(lambda: bool(walk.patient.gc().triggers_since(before)), 60,
           "an old-generation collection in the window")  # fmt: skip
report = walk.patient.gc()
console = Console()
console.print(gc_table(report))
console.print(gc_triggers_table(report))
trigger = report.triggers_since(before)[0]
print(f"in the window, {trigger.pause_seconds:.2f} s of pauses began in {trigger.site.function}")

# %% [markdown]
# ## 5. Name the culprit
#
# The same grading as `labctl lab check 05 --answer <function>`. This lab also has a fix
# exercise: `labctl lab check 05 --fix` runs `labs/05-p99-spikes/test_fix.py`, which fails
# until an evicted audit record is freed without the cyclic collector.

# %%
verdict = walk.grade(trigger.site.function)
print(verdict.message)
assert verdict.correct, "the site that started most pause time should be the culprit"

# %% [markdown]
# ## 6. Recovery
#
# Switch the fault off (in real life: ship the fix) with the load still running.

# %%
print("after:", walk.recover())
display(walk.plot("GC pause p99 by generation"))

# %%
walk.end()  # load stopped, every fault off

# %% [markdown]
# ## 7. Tuning, measured: five settings side by side
#
# `labctl lab gc-tuning` does this: the lab again, one window per setting. Default
# thresholds; gen-0 threshold ten times higher; `gc.freeze()` after warm-up; collections moved
# off the request path (`gc.disable()`, young collections between requests, full ones only
# above a memory ceiling); and the code with the cycle removed (`solution.patch` applied to a
# copy of the service, run as a second process). An open-loop client measures latency as users
# feel it: each request's latency counts from when it was due, so a pause shows in every
# request due during it, which the server's own p99 cannot see. Read the table for the
# trade-off: fewer collections cost memory, and a freeze keeps whatever it froze, garbage
# included.

# %%
from labctl.course.gc_tuning import compare_gc_settings
from labctl.evidence.session import Session
from labctl.render.tables import gc_trials_table

with Session.open(RUN_DIR) as session:
    trials = compare_gc_settings(
        session, seconds=SECONDS, warmup_seconds=SECONDS, echo=walk.echo,
        progress=lambda step: print("measuring:", step),
    )  # fmt: skip
console.print(gc_trials_table(trials))
default, raised, frozen, idle, fixed = trials
# The client's latency counts from each request's due time: never below the server's view.
assert all(t.client is not None and t.client.answered > 0 for t in trials)
assert default.client is not None and default.client.max_seconds is not None
# Ten times the gen-0 threshold: gen-0 collections per request fall well below a third.
assert raised.young_collections / raised.requests < default.young_collections / default.requests / 3
# The freeze moved the long-lived geo table (hundreds of thousands of objects) out of every
# walk; the default row has only the service's own start-up freeze.
assert frozen.frozen_objects > default.frozen_objects + 100_000
assert all(t.requests > 50 for t in trials)

# %% [markdown]
# The fixed code ran as its own process, which is gone again; the lab's service is as we found
# it: no fault on, and its start-up freeze back without the geo table in it.

# %%
from labctl.evidence.patient import Patient

with Patient.from_run_dir(RUN_DIR) as patient:
    assert fixed.pid != patient.pid and default.pid == patient.pid
    assert patient.faults().active == {}
    assert 0 < patient.gc().frozen_objects < default.frozen_objects + 50_000
    print(f"service {patient.pid}: no fault on, {patient.gc().frozen_objects} objects frozen")
