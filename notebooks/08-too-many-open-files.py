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
# # 08 · Too many open files
#
# You are on call. The page (`labs/08-too-many-open-files/README.md`) says the service's open
# file descriptors keep climbing towards its limit; when they reach it, every `accept()` and
# every `open()` fails. Walk the diagnosis on the live stack: see the climb, list what the
# descriptors point at, find the code that opens those files, and check the count comes back.

# %% tags=["parameters"]
import os
from pathlib import Path

RUN_DIR = Path(os.environ.get("LABCTL_RUN_DIR", "../run"))
SECONDS = float(os.environ.get("LAB_NOTEBOOK_SECONDS", "10"))  # capture length
LAB = "08"

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
# `labctl lab start 08` does this: the lab's load, then its fault, without saying which.
# We wait until Prometheus shows what the page describes.

# %%
print("now:", walk.page())

# %% [markdown]
# ## 3. The symptom, as the dashboard shows it
#
# Open file descriptors against the process's limit (Python runtime dashboard).

# %%
display(walk.plot("Open file descriptors"))

# %% [markdown]
# ## 4. Evidence: what the descriptors point at
#
# `ls -l /proc/PID/fd`, grouped: by folder, and by file-name shape with the ids folded, so a
# thousand files of one kind (one per link, say) are one row. The biggest group is what leaks.

# %%
from labctl.evidence.probes.fds import open_files

assert walk.patient.pid is not None
groups = open_files(walk.patient.pid)
for group in groups[:5]:
    print(f"{group.count:>6}  {group.folder}/{group.shape}")
leak = groups[0]

# %% [markdown]
# ## 5. Evidence: the file objects, who keeps them, and the code that names those files
#
# The descriptors belong to Python file objects that are still alive: objgraph's growth
# census shows them climbing (`labctl profile objects`). Grep the code for the file name's
# fixed parts: `code_naming` keeps the lines that have all of them and names the function
# around each. Here that is one helper every writer calls, so the name alone does not say
# which code keeps the files open.

# %%
from labctl.course.catalogue import LABS_DIR
from labctl.evidence.probes.fds import code_naming, code_opening
from labctl.render.tables import objects_table

SOURCE = [LABS_DIR.parent / "leaky_app"]
census = walk.patient.objects(limit=15)
Console().print(objects_table(census))
for hit in code_naming(leak, SOURCE):
    print(f"named in {hit.location.function} ({hit.location.file}:{hit.location.line}): {hit.text}")

# %% [markdown]
# Something keeps those file objects alive. objgraph walks the back-references from the newest
# of them to the nearest object of the program's own classes (`GET /debug/objects/owners`,
# what `labctl diagnose` asks too): that class, and the attribute that holds them, is where
# they are kept. The lines of that class that call `open(` are where they are opened.

# %%
owners = walk.patient.owners("_io.TextIOWrapper")
assert owners, "no object of the program keeps a file object: is the fault on?"
for owner in owners[:3]:
    print(f"{owner.count:>4} file objects kept by {owner.owner}{owner.via}")
opened = code_opening(owners[0], SOURCE)
for hit in opened:
    print(f"opened in {hit.location.function} ({hit.location.line}): {hit.text}")
assert opened, f"{owners[0].owner} has no line that calls open("
function = opened[0].location.function

# %% [markdown]
# ## 6. Name the culprit
#
# The same grading as `labctl lab check 08 --answer <function>`.

# %%
verdict = walk.grade(function)
print(verdict.message)
assert verdict.correct, "the function that opens the leaked files should be the culprit"

# %% [markdown]
# ## 7. Recovery
#
# Switch the fault off (in real life: write each row with `with open(...)`, or keep only a
# few dozen files open) with the load still running.

# %%
print("after:", walk.recover())
display(walk.plot("Open file descriptors"))

# %%
walk.end()  # load stopped, every fault off: the stack as we found it
