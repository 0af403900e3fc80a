"""The lab catalogue: one folder per lab under ``labs/``, named by symptom, never by cause.

Each ``labs/NN-symptom/lab.toml`` is the single source of truth that ``labctl lab``, the
notebooks and the tests read: the fault and its intensity, the load, the alert that pages,
the dashboard to open, and the signals a trainee should see, as PromQL with a threshold::

    lab = load_lab("01")
    for signal in lab.signals:
        print(signal.name, signal.promql)

A signal is met when its value with the fault on crosses ``threshold``: for ``compare =
"ratio"``, as a multiple of the value just before the fault went on (the same run, the same
machine, so a slow laptop is its own baseline); for ``"above"``, as a plain value, used only
for amounts that are near zero in health (bytes a second of growth, dead letters), never for
times.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from labctl.errors import LabctlError
from labctl.stack.traffic import LoadShape

LABS_DIR = Path(__file__).resolve().parents[2] / "labs"
_RANGE = re.compile(r"\[(\d+)([smh])\]")
_UNIT = {"s": 1, "m": 60, "h": 3600}
_FOLDER = re.compile(r"^(\d\d)-([a-z0-9]+(?:-[a-z0-9]+)*)$")


class LabError(LabctlError):
    """A lab is unknown, malformed or cannot run; the message says which and why."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Signal(_Strict):
    name: str = Field(min_length=1)
    promql: str = Field(min_length=1)
    compare: Literal["ratio", "above"]
    threshold: float = Field(gt=0)
    # A baseline below this counts as this: a ratio against zero says nothing.
    floor: float = Field(default=1e-6, gt=0)

    def met(self, baseline: float | None, value: float | None) -> bool:
        if value is None:
            return False
        if self.compare == "above":
            return value > self.threshold
        return value >= self.threshold * max(baseline or 0.0, self.floor)

    def recovered(self, baseline: float | None, value: float | None) -> bool:
        """Halfway back or more: under half the "above" threshold, or under the baseline plus
        half the growth a ratio signal looks for."""
        if value is None:
            return False
        if self.compare == "above":
            return value < self.threshold / 2
        return value < max(baseline or 0.0, self.floor) * (1 + (self.threshold - 1) / 2)

    def target(self, baseline: float | None) -> float:
        """The value the signal has to reach."""
        if self.compare == "above":
            return self.threshold
        return self.threshold * max(baseline or 0.0, self.floor)


class LoadSpec(_Strict):
    users: int = Field(default=LoadShape.users, ge=1, le=200)
    rate: float = Field(default=LoadShape.rate, gt=0, le=1000)
    create_share: float = Field(default=LoadShape.create_share, ge=0, le=1)
    # Distinct pages clicks come from.
    referrers: int = Field(default=LoadShape.referrers, ge=1, le=100_000)
    preview_share: float = Field(default=LoadShape.preview_share, ge=0, le=1)
    # Websocket subscribers on /ws/clicks besides the clicks (labctl.ws_crowd), each
    # reconnecting after about ws_reconnect_seconds.
    ws_clients: int = Field(default=0, ge=0, le=20_000)
    ws_reconnect_seconds: float = Field(default=10.0, ge=0, le=600)
    # Steady load before a baseline is read, beyond the signals' longest range (see
    # ``Lab.settle_seconds``): the service warms its caches.
    warmup_seconds: float = Field(default=5.0, ge=0, le=120)

    def shape(self) -> LoadShape:
        """The clicking crowd this lab's load is (the websocket crowd is started apart)."""
        return LoadShape(users=self.users, rate=self.rate, create_share=self.create_share,
                         referrers=self.referrers, preview_share=self.preview_share)  # fmt: skip


class Setup(_Strict):
    """The world around the service during the lab."""

    smtp_fail_rate: float = Field(default=0.0, ge=0, le=1, description="the mail provider's woes")


class FixExercise(_Strict):
    """A test in the lab folder that fails until the trainee fixes the code, and the patch
    (against the repository root) that makes it pass, for the catalogue's own test."""

    test: str = Field(pattern=r"^test_\w+\.py$")
    patch: str = Field(pattern=r"^[\w.-]+\.patch$")


class Lab(_Strict):
    number: str
    slug: str
    title: str = Field(min_length=1)
    fault: str = Field(min_length=1)
    intensity: str = Field(min_length=1)
    alert: str = Field(min_length=1, description="the alert that pages the trainee")
    dashboard: str = Field(min_length=1, description="uid of the dashboard to open first")
    question: str = Field(min_length=1)
    tools: list[str] = Field(min_length=1)
    load: LoadSpec = LoadSpec()
    setup: Setup = Setup()
    signals: list[Signal] = Field(min_length=1)
    fix: FixExercise | None = None

    @property
    def settle_seconds(self) -> float:
        """How long the lab's load runs before its baseline is read: every range vector of
        every signal (``[20s]``) must hold only this load, with no earlier fault in it."""
        ranges = [int(n) * _UNIT[u] for s in self.signals for n, u in _RANGE.findall(s.promql)]
        return max(ranges, default=0) + self.load.warmup_seconds

    @property
    def folder(self) -> Path:
        return LABS_DIR / f"{self.number}-{self.slug}"

    @property
    def readme(self) -> Path:
        return self.folder / "README.md"

    @property
    def solution(self) -> Path:
        return self.folder / "solution.md"

    @property
    def fix_test(self) -> Path | None:
        return self.folder / self.fix.test if self.fix else None

    @property
    def fix_patch(self) -> Path | None:
        return self.folder / self.fix.patch if self.fix else None


def _read(folder: Path) -> Lab:
    match = _FOLDER.match(folder.name)
    if match is None:
        raise LabError(f"{folder.name}: a lab folder is named NN-symptom (two digits, a slug)")
    try:
        data = tomllib.loads((folder / "lab.toml").read_text())
    except OSError as exc:
        raise LabError(f"{folder.name}: cannot read lab.toml: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise LabError(f"{folder.name}/lab.toml is not valid TOML: {exc}") from exc
    try:
        return Lab(number=match[1], slug=match[2], **data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise LabError(f"{folder.name}/lab.toml: {problems}") from exc


def all_labs(root: Path = LABS_DIR) -> list[Lab]:
    """Every lab, in number order."""
    if not root.is_dir():
        raise LabError(f"{root} is missing: run labctl from a checkout of the lab")
    return [_read(folder) for folder in sorted(root.iterdir()) if folder.is_dir()]


def load_lab(key: str, root: Path = LABS_DIR) -> Lab:
    """A lab by number (``1``, ``01``) or folder name (``01-memory-creeps-up``)."""
    labs = all_labs(root)
    wanted = key.zfill(2) if key.isdigit() else key
    for lab in labs:
        if wanted in (lab.number, f"{lab.number}-{lab.slug}"):
            return lab
    known = ", ".join(f"{lab.number} ({lab.title})" for lab in labs)
    raise LabError(f"no lab {key!r}; the labs are: {known}", exit_code=2)


@dataclass(frozen=True)
class Reading:
    """One signal measured before and with the fault."""

    signal: Signal
    baseline: float | None
    value: float | None

    @property
    def met(self) -> bool:
        return self.signal.met(self.baseline, self.value)


def sample_value(result: list[dict[str, object]]) -> float | None:
    """The largest finite value of an instant-query result, or None when it has none."""
    values: list[float] = []
    for series in result:
        pair = series.get("value")
        if isinstance(pair, list) and len(pair) == 2:
            try:
                number = float(pair[1])
            except (TypeError, ValueError):
                continue
            if math.isfinite(number):
                values.append(number)
    return max(values) if values else None
