"""One command's hold on the running lab: the stack as it found it, read once, and a client
of its service. Commands open one and hand it down; helpers take it (or the part of it they
need) instead of a run directory to read the state from again.

Usage::

    with Session.open(Path("run")) as session:
        session.patient.faults()
        session.status.prometheus_url
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from labctl.contract import RunLayout
from labctl.evidence.patient import Patient
from labctl.stack.supervisor import Stack, StackStatus


@dataclass
class Session:
    status: StackStatus
    patient: Patient

    @classmethod
    def open(cls, run_dir: Path) -> Session:
        """The stack in ``run_dir`` and its service (a :class:`PatientError`, exit 3, when the
        service is not running)."""
        return cls.of(Stack(run_dir).status())

    @classmethod
    def of(cls, status: StackStatus) -> Session:
        """A session on a stack already read (``Stack.up`` returns one)."""
        return cls(status, Patient.of(status))

    @property
    def run_dir(self) -> Path:
        return self.status.run_dir

    @property
    def layout(self) -> RunLayout:
        return self.status.layout

    def close(self) -> None:
        self.patient.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
