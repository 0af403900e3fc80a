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
# # 00 · A tour of the lab
#
# The lab has two halves. **The patient**, `leaky-app`, is a link shortener that mails link
# owners; it carries planted production bugs that can be switched on while it runs.
# **The doctor**, `labctl`, starts the stack, drives load, reads the service's vital signs
# and attaches real profilers to it. Every notebook here uses `labctl` as a library, so what
# you do in a cell is what the CLI does in a terminal.
#
# This tour: find (or start) the stack, put background traffic on it, read its vital signs,
# plot a dashboard panel from Prometheus, and take a CPU profile of the live process.
# Nothing is broken yet; the numbers you see here are what *healthy* looks like.

# %% tags=["parameters"]
import os
from pathlib import Path

# The lab's run directory (`make up` uses ./run). Tests point it at their own stack.
RUN_DIR = Path(os.environ.get("LABCTL_RUN_DIR", "../run"))
# How long captures last. Tests set a short one.
SECONDS = float(os.environ.get("LAB_NOTEBOOK_SECONDS", "10"))

# %% [markdown]
# ## 1. The stack
#
# `Stack.up()` is idempotent: it starts what is missing (SMTP sink, service, Prometheus) and
# leaves what already runs alone, so this cell is safe to run again.

# %%
# %matplotlib inline
from labctl.stack.supervisor import Stack

stack = Stack(RUN_DIR)
status = stack.up()
for name, record in sorted(status.running.items()):
    print(f"{name:<12} pid {record.pid:<7} {' '.join(sorted(record.urls.values()))}")

# %% [markdown]
# ## 2. Traffic
#
# A service with no traffic has no symptoms. `labctl load start` runs locust as a process of
# the stack: campaign clicks on short links, and now and then a new link (which mails its
# owner). If load already runs, we keep it.

# %%
from labctl.stack.polling import wait_until
from labctl.stack.traffic import LoadShape, read_stats, start_load, stop_load

started_load = "load" not in status.running
if started_load:
    record = start_load(status, None, LoadShape(users=10, rate=30))
    print("$", " ".join(record.cmd))
wait_until(
    lambda: (s := read_stats(status.layout)) is not None and s.requests > 0,
    60,
    "locust's first requests",
)
print(read_stats(status.layout))

# %% [markdown]
# ## 3. Vital signs
#
# `labctl top` in a terminal; here, one screen of it. Every value comes from two scrapes of
# the service's `/metrics`, a few seconds apart.

# %%
from rich.console import Console

from labctl.evidence.patient import Patient, watch
from labctl.render.top_screen import vitals_table

patient = Patient.of(status)
vitals = next(watch(patient, interval=min(SECONDS, 5.0), frames=1))
Console().print(vitals_table(vitals, f"leaky-app pid {patient.pid}"))
assert vitals.requests_per_second > 0, "the load should show as requests"

# %% [markdown]
# Which faults can be switched on? (The catalogue is what the service reports; in a drill it
# hides what is on.)

# %%
for fault in patient.faults().catalogue:
    print(f"{fault.id:<22} {fault.summary}")

# %% [markdown]
# ## 4. A dashboard panel, from Prometheus
#
# Grafana's panels are code (`labctl/course/dashboard_catalogue.py`). `panel_series` runs the
# same PromQL against the lab's Prometheus and `plot_panel` draws it, so this chart is the
# "Requests per second by route" panel.
# Prometheus scrapes every 5 s; a rate needs two scrapes, so a fresh stack takes a few
# seconds to draw its first points.

# %%
from IPython.display import display

from labctl.course.dashboard_catalogue import panel, panel_series
from labctl.render.plots import plot_panel

prometheus = status.prometheus_url
requests_panel = panel("Requests per second by route")
wait_until(
    lambda: bool(panel_series(prometheus, requests_panel, 120)), 60, "the panel's first points"
)
display(plot_panel(requests_panel, panel_series(prometheus, requests_panel, 300), seconds=300))

# %% [markdown]
# ## 5. A CPU profile of the live process
#
# py-spy reads the service's memory from outside (ptrace); the service does not know. The
# table ranks functions by *self* time (the innermost application frame) and *total* time.
# On a healthy service most time is the framework's: the event loop, uvicorn, HTTP parsing.

# %%
from IPython.display import SVG

from labctl.evidence.probes.pyspy import record_cpu
from labctl.evidence.probes.target import Target
from labctl.render.tables import cpu_table

assert patient.pid is not None
profile = record_cpu(Target(pid=patient.pid), min(SECONDS, 5.0), RUN_DIR / "profiles" / "tour",
                     echo=lambda command: print("$", command))  # fmt: skip
Console().print(cpu_table(profile))
display(SVG(filename=profile.artefacts["flamegraph"]))

# %% [markdown]
# ## 6. Where next
#
# Each lab in `labs/` is a page an on-call engineer receives. Start one with
# `labctl lab start 01` (or open its notebook), find the culprit with the tools you just
# used, and answer with `labctl lab check 01 --answer Class.method`.

# %%
if started_load:
    stop_load(status)  # leave the stack as we found it
patient.close()
