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
# # 07 · Email storm
#
# You are on call. The page (`labs/07-email-storm/README.md`) says the mail provider is having
# an incident, and we are making it worse: SMTP sends per notice shot up. The provider failing
# is not the bug; how we answer failure is. Walk the diagnosis on the live stack: see the storm
# on the notifier dashboard, find which code path sends, name the function, and check the
# sends calm down.

# %% tags=["parameters"]
import os
from pathlib import Path

RUN_DIR = Path(os.environ.get("LABCTL_RUN_DIR", "../run"))
SECONDS = float(os.environ.get("LAB_NOTEBOOK_SECONDS", "10"))  # capture length
LAB = "07"

# %% [markdown]
# ## 1. The stack, and a healthy baseline
#
# The lab's load runs first with nothing wrong, so the charts below have a "before". The
# scene includes the provider's outage (the SMTP sink refuses every message).

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
# `labctl lab start 07` does this: the lab's load, then its fault, without saying which.
# We wait until Prometheus shows what the page describes.

# %%
print("now:", walk.page())

# %% [markdown]
# ## 3. The symptom, as the notifier dashboard shows it
#
# Sends by outcome, and the circuit breaker: the breaker is open (the provider is down), and
# yet sends go on. Whatever sends them does not go through the breaker.

# %%
display(walk.plot("SMTP sends by outcome, and what the server saw"))
display(walk.plot("SMTP circuit breaker"))

# %% [markdown]
# ## 4. Evidence: which path calls the send
#
# py-spy samples the service from outside. Every SMTP transaction runs under
# `Mailer._send`; the normal path reaches it from `Mailer._send_guarded`, inside the breaker,
# called by tenacity with backoff. `Stacks.callers` asks who calls it now (pprof's `-peek`;
# on the command line, `labctl profile cpu --callers Mailer._send`).

# %%
from IPython.display import SVG

from labctl.evidence.probes.pyspy import record_cpu
from labctl.evidence.probes.target import Target
from labctl.render.tables import cpu_table

assert walk.patient.pid is not None
profile = record_cpu(Target(pid=walk.patient.pid), SECONDS, RUN_DIR / "profiles" / "lab-07",
                     echo=walk.echo)  # fmt: skip
Console().print(cpu_table(profile))
display(SVG(filename=profile.artefacts["flamegraph"]))
callers = profile.stacks().callers("Mailer._send")
for caller in callers:
    print(f"{caller.share_pct:5.1f}% of the sends come from {caller.location.function}")
assert callers, "no send was sampled: is the load running?"

# %% [markdown]
# ## 5. Name the culprit
#
# The same grading as `labctl lab check 07 --answer <function>`.

# %%
verdict = walk.grade(callers[0].location.function)
print(verdict.message)
assert verdict.correct, "the path that calls the send most should be the culprit"

# %% [markdown]
# ## 6. Recovery
#
# Switch the fault off (in real life: one retry policy with backoff, jitter and the breaker
# for every send) with the load and the outage still on: sends fall back to what the breaker
# lets through.

# %%
print("after:", walk.recover())
display(walk.plot("SMTP sends by outcome, and what the server saw"))

# %%
walk.end()  # load stopped, every fault off, the provider healed
