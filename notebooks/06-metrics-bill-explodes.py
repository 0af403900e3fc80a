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
# # 06 · The metrics bill explodes
#
# You are on call. The page (`labs/06-metrics-bill-explodes/README.md`) comes from the
# monitoring team: the service's scrapes are suddenly many times bigger, and their bill
# follows. Walk the diagnosis on the live stack: see the growth, find the metric and the label
# that explode, find the code that sets that label, and check that the scrape shrinks back.

# %% tags=["parameters"]
import os
from pathlib import Path

RUN_DIR = Path(os.environ.get("LABCTL_RUN_DIR", "../run"))
SECONDS = float(os.environ.get("LAB_NOTEBOOK_SECONDS", "10"))  # capture length
LAB = "06"

# %% [markdown]
# ## 1. The stack, and a healthy baseline
#
# The lab's load runs first with nothing wrong, so the charts below have a "before".

# %%
# %matplotlib inline
from IPython.display import display

from labctl.course.walkthrough import Walkthrough

walk = Walkthrough.begin(RUN_DIR, LAB, settle_seconds=SECONDS)
print(f"lab {walk.lab.number}: {walk.lab.title}. {walk.lab.question}")
print("baseline:", walk.baseline)

# %% [markdown]
# ## 2. The incident starts
#
# `labctl lab start 06` does this: the lab's load, then its fault, without saying which.
# We wait until Prometheus shows what the page describes.

# %%
print("now:", walk.page())

# %% [markdown]
# ## 3. The symptom, as the dashboard shows it
#
# Samples per scrape (Faults and alerts dashboard): Prometheus counts every series it stores
# from each scrape. Traffic is steady, yet the count climbs with it: something makes new
# series from requests.

# %%
display(walk.plot("Samples per scrape"))

# %% [markdown]
# ## 4. Evidence: which metric, which label
#
# Count the series per metric name, then, for the biggest, the distinct values of each of its
# labels. A label whose values keep growing is the one to fix.

# %%
from labctl.stack.prometheus import query

JOB = '{job="leaky-app"}'
by_name = query(walk.prometheus, f"topk(5, count by (__name__) ({JOB}))")
for row in sorted(by_name, key=lambda r: -float(r["value"][1])):
    print(f"{float(row['value'][1]):>8.0f}  {row['metric']['__name__']}")
metric = max(by_name, key=lambda r: float(r["value"][1]))["metric"]["__name__"]

series = [s["metric"] for s in query(walk.prometheus, f"{metric}{JOB}")]
labels = {k for s in series for k in s} - {"__name__", "job", "instance"}
distinct = {label: len({s.get(label) for s in series}) for label in sorted(labels)}
label = max(distinct, key=lambda k: distinct[k])
print(f"\n{metric}: {len(series)} series; distinct values per label: {distinct}")
print(f"'{label}' looks like:", sorted({s[label] for s in series})[:3])

# %% [markdown]
# ## 5. Evidence: the code that sets it
#
# "Grep the code for the metric", as the lab's tools say: `labctl.evidence.sources.grep`
# answers with the function around each hit. The metric is declared in one place; the
# function that calls `.labels(...)` on it, in the same file, picks the label values.

# %%
from labctl.course.catalogue import LABS_DIR
from labctl.evidence.sources import grep

SOURCE = LABS_DIR.parent / "leaky_app"
base = metric.removesuffix("_total")
declared = grep(f'"{base}"', SOURCE)
for hit in declared:
    print(
        f"declared in {hit.location.function} ({hit.location.file}:{hit.location.line}): {hit.text}"
    )
file = declared[0].location.file
setters = [h for h in grep(".labels(", SOURCE) if h.location.file == file]
for hit in setters:
    print(
        f"labelled in {hit.location.function} ({hit.location.file}:{hit.location.line}): {hit.text}"
    )
function = setters[0].location.function
assert setters[0].in_function, setters[0]

# %% [markdown]
# ## 6. Name the culprit
#
# The same grading as `labctl lab check 06 --answer <function>`.

# %%
verdict = walk.grade(function)
print(verdict.message)
assert verdict.correct, "the function that labels the exploding metric should be the culprit"

# %% [markdown]
# ## 7. Recovery
#
# Switch the fault off (in real life: label only bounded values, a kind of site rather than
# the referring page) with the load still running. The previous release folds every page's
# clicks into its site's, so the clicks per campaign read the same, and the next scrape is
# back to its usual size.

# %%
print("after:", walk.recover())
display(walk.plot("Samples per scrape"))

# %%
walk.end()  # load stopped, every fault off: the stack as we found it
