"""Talk to a running patient over HTTP: typed records in, no rendering here.

Usage::

    patient = Patient.from_run_dir(Path("run"))
    for fault in patient.faults().catalogue: print(fault.id, fault.summary)
    patient.fault_on("cpu_hotloop", "10x")
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from labctl.stack import SERVICE, Stack


class PatientError(RuntimeError):
    """A request to the patient failed; ``exit_code`` says how a CLI should exit."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class Fault:
    id: str
    summary: str
    intensities: list[str]
    symptoms: list[str]
    tools: list[str]
    cap: str
    active: str | None  # the intensity when on


@dataclass(frozen=True)
class FaultBoard:
    catalogue: list[Fault]
    drill: bool

    @property
    def active(self) -> dict[str, str]:
        return {f.id: f.active for f in self.catalogue if f.active}


class Patient:
    def __init__(self, debug_url: str, token: str, timeout: float = 30.0) -> None:
        self._client = httpx.Client(
            base_url=debug_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout,
        )

    @classmethod
    def from_run_dir(cls, run_dir: Path) -> Patient:
        record = Stack(run_dir).status().running.get(SERVICE)
        if record is None:
            raise PatientError(f"the service is not running (no live process in {run_dir}); "
                               "start it with: labctl up", exit_code=3)  # fmt: skip
        debug = record.urls.get("debug", "").removesuffix("/debug/")
        token_file = run_dir / "debug.token"
        try:
            token = token_file.read_text().strip()
        except OSError as exc:
            raise PatientError(f"cannot read the debug token {token_file}: {exc.strerror}") from exc
        return cls(debug, token)

    def close(self) -> None:
        self._client.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise PatientError(f"the service's debug port does not answer: {exc}", 3) from exc
        if response.status_code >= 400:
            try:
                message = response.json().get("message", response.text)
            except ValueError:
                message = response.text
            raise PatientError(f"{method} {path}: {response.status_code}: {message}", 2)
        return response.json()

    def faults(self) -> FaultBoard:
        return _board(self._call("GET", "/admin/faults"))

    def fault_on(self, fault_id: str, intensity: str = "1x") -> FaultBoard:
        return _board(
            self._call("PUT", f"/admin/faults/{fault_id}", params={"intensity": intensity})
        )

    def fault_off(self, fault_id: str | None) -> FaultBoard:
        path = "/admin/faults" if fault_id is None else f"/admin/faults/{fault_id}"
        return _board(self._call("DELETE", path))


def _board(body: dict[str, Any]) -> FaultBoard:
    active: dict[str, str] = body["active"]
    return FaultBoard(
        catalogue=[
            Fault(
                id=spec["id"],
                summary=spec["summary"],
                intensities=spec["intensities"],
                symptoms=spec["symptoms"],
                tools=spec["tools"],
                cap=spec["cap"],
                active=active.get(spec["id"]),
            )
            for spec in body["catalogue"]
        ],
        drill=body["drill"],
    )
