"""Admin endpoints on the debug port (the operator token, loopback): switch faults at runtime.

A switch edits the flags file, the single source of truth, then asks the service's loop to
reload it, and answers once the new state is in force (or 503 after a bounded wait). In a
drill the file holds the faults sealed (:mod:`leaky_app.admin.drill_seal`), and
``GET /admin/faults`` says what is on only when asked with ``reveal=true`` (the drill's
grading and reveal): ``labctl fault list`` does not ask.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from leaky_app.admin.drill_seal import DrillSeal
from leaky_app.debug.endpoints import Endpoint, error
from leaky_app.faults import BY_ID, CATALOGUE, Switchboard
from leaky_app.hot_reload import ConfigWatcher
from leaky_app.settings import ConfigError, load_runtime_config

APPLY_TIMEOUT_SECONDS = 5.0


def admin_endpoints(
    watcher: ConfigWatcher,
    switchboard: Switchboard,
    loop: asyncio.AbstractEventLoop,
    seal: DrillSeal | None = None,
) -> list[Endpoint]:
    def state(reveal: bool = False) -> dict[str, Any]:
        hidden = switchboard.drill and not reveal
        return {
            "active": {} if hidden else switchboard.active,
            "drill": switchboard.drill,
            "catalogue": [spec.to_json() for spec in CATALOGUE],
        }

    async def write_and_apply(faults: dict[str, str], drill: bool | None = None) -> Response:
        """``drill`` None keeps the flags file's drill setting."""
        try:
            current = load_runtime_config(watcher.path)
        except ConfigError as exc:
            return error(409, "flags_file_invalid", f"fix the flags file first: {exc}")
        want_drill = current.drill if drill is None else drill
        data = current.model_dump(mode="json", exclude_defaults=True)
        data.pop("sealed_faults", None)
        data["faults"] = faults
        data["drill"] = want_drill
        if want_drill:
            if seal is None:
                return error(409, "no_seal", "a drill needs the operator token to seal its faults")
            data["faults"], data["sealed_faults"] = {}, seal.seal(faults)
        tmp = watcher.path.with_name(f".{watcher.path.name}.{os.getpid()}.tmp")
        # 0600: the flags file switches faults (and, outside drills, says which are on).
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(json.dumps(data, indent=2) + "\n")
        tmp.replace(watcher.path)  # atomic: the watcher never sees half a file
        loop.call_soon_threadsafe(watcher.reload)
        deadline = time.monotonic() + APPLY_TIMEOUT_SECONDS
        while dict(switchboard.active) != faults or switchboard.drill != want_drill:
            if time.monotonic() > deadline:
                return error(503, "not_applied", "written, but the service loop did not apply it")
            await asyncio.sleep(0.02)
        return JSONResponse(state())

    async def list_faults(request: Request) -> Response:
        return JSONResponse(state(reveal=request.query_params.get("reveal") == "true"))

    def requested(fault_id: str, request: Request) -> tuple[str, str] | JSONResponse:
        """(fault, intensity) from the request, or the 4xx saying what is wrong."""
        spec = BY_ID.get(fault_id)
        if spec is None:
            return error(404, "unknown_fault", f"unknown fault {fault_id!r}; see GET /admin/faults")
        intensity = request.query_params.get("intensity", "1x")
        if intensity not in spec.intensities:
            choices = ", ".join(spec.intensities)
            return error(400, "bad_intensity", f"intensity must be one of {choices}")
        return fault_id, intensity

    async def switch_on(request: Request) -> Response:
        wanted = requested(request.path_params["fault_id"], request)
        if isinstance(wanted, JSONResponse):
            return wanted
        fault_id, intensity = wanted
        return await write_and_apply({**switchboard.active, fault_id: intensity})

    async def drill_start(request: Request) -> Response:
        wanted = requested(request.query_params.get("fault", ""), request)
        if isinstance(wanted, JSONResponse):
            return wanted
        fault_id, intensity = wanted
        return await write_and_apply({fault_id: intensity}, drill=True)

    async def drill_end(request: Request) -> Response:
        return await write_and_apply({}, drill=False)

    async def switch_off(request: Request) -> Response:
        fault_id = request.path_params["fault_id"]
        if fault_id not in BY_ID:
            return error(404, "unknown_fault", f"unknown fault {fault_id!r}; see GET /admin/faults")
        return await write_and_apply({k: v for k, v in switchboard.active.items() if k != fault_id})

    async def all_off(request: Request) -> Response:
        return await write_and_apply({})

    return [
        Endpoint("/admin/faults", ("GET",), "fault catalogue and what is on (in a drill: only"
                 " with reveal=true)", "reveal=true", list_faults, operator=True),
        Endpoint("/admin/faults/{fault_id}", ("PUT",), "switch a fault on",
                 "intensity=1x|10x|100x", switch_on, operator=True),
        Endpoint("/admin/faults/{fault_id}", ("DELETE",), "switch a fault off", "", switch_off,
                 operator=True),
        Endpoint("/admin/faults", ("DELETE",), "switch every fault off", "", all_off,
                 operator=True),
        Endpoint("/admin/drill", ("PUT",), "drill: only this fault on, its state hidden",
                 "fault, intensity", drill_start, operator=True),
        Endpoint("/admin/drill", ("DELETE",), "end the drill: faults off, state shown", "",
                 drill_end, operator=True),
    ]  # fmt: skip
