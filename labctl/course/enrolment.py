"""A trainee's place in a workshop: the scoreboard this lab reports to, and the results it sends.

``join`` registers the trainee with the instructor's scoreboard (``labctl workshop serve``)
and keeps the URL and the trainee's own key in ``run/workshop.json`` (0600). From then on the
drill and lab commands ``report`` each result: numbered, signed with that key, posted. A
result the scoreboard cannot take now (it is down, the network is) waits in the same file and
goes first with the next one, in order, so the board ends up complete; one the scoreboard
refuses (it answers 4xx) is dropped with the reason, since sending it again would not help.
Without a workshop, ``report`` does nothing.

Usage::

    join(RunLayout(Path("run")), "http://10.0.0.5:8100", "<join token>", "alice")
    warning = report(RunLayout(Path("run")), {"kind": "drill_started", "drill": t, "at": t})
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from labctl.contract import RunLayout
from labctl.course.catalogue import LabError
from labctl.course.scoreboard import signature
from labctl.stack.private_files import write_private

TIMEOUT_S = 5.0


@dataclass
class Enrolment:
    url: str
    name: str
    trainee: str
    key: str
    seq: int = 0
    outbox: list[dict[str, Any]] = field(default_factory=list)  # numbered, not yet delivered

    @classmethod
    def read(cls, layout: RunLayout) -> Enrolment | None:
        try:
            return cls(**json.loads(layout.workshop.read_text()))
        except FileNotFoundError:
            return None
        except (ValueError, TypeError) as exc:
            raise LabError(
                f"{layout.workshop} is not a workshop enrolment ({exc}); join again: "
                "labctl workshop join URL TOKEN --name NAME",
                2,
            ) from None

    def write(self, layout: RunLayout) -> None:
        """0600: the key signs this trainee's results."""
        write_private(layout.workshop, (json.dumps(asdict(self), indent=2) + "\n").encode())


def join(layout: RunLayout, url: str, token: str, name: str) -> Enrolment:
    """Register ``name`` with the scoreboard at ``url``; a sentence when it refuses."""
    url = url.rstrip("/")
    try:
        response = httpx.post(
            f"{url}/api/join", json={"token": token, "name": name}, timeout=TIMEOUT_S
        )
    except httpx.HTTPError as exc:
        raise LabError(f"the scoreboard at {url} does not answer: {exc}", 3) from None
    if response.status_code != 201:
        raise LabError(f"the scoreboard refused to join: {_message(response)}", 2)
    body = response.json()
    enrolment = Enrolment(url, name, body["trainee"], body["key"])
    layout.root.mkdir(parents=True, exist_ok=True)
    enrolment.write(layout)
    return enrolment


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json()["message"])
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code}"


def _post(enrolment: Enrolment, envelope: dict[str, Any]) -> httpx.Response:
    body = json.dumps(envelope, separators=(",", ":")).encode()
    headers = {
        "X-Trainee": enrolment.trainee,
        "X-Signature": signature(enrolment.key, body).decode(),
        "Content-Type": "application/json",
    }
    return httpx.post(
        f"{enrolment.url}/api/results", content=body, headers=headers, timeout=TIMEOUT_S
    )


def report(layout: RunLayout, result: dict[str, Any]) -> str | None:
    """Send ``result`` (after any that wait) to the workshop; a warning for the trainee when
    something could not be delivered, else None."""
    enrolment = Enrolment.read(layout)
    if enrolment is None:
        return None
    enrolment.seq += 1
    enrolment.outbox.append({"seq": enrolment.seq, "result": result})
    warning = None
    while enrolment.outbox:
        try:
            response = _post(enrolment, enrolment.outbox[0])
        except httpx.HTTPError as exc:
            warning = (
                f"the scoreboard at {enrolment.url} does not answer ({exc}); "
                f"{len(enrolment.outbox)} result(s) wait and go with the next one"
            )
            break
        if response.status_code >= 500:
            warning = (
                f"the scoreboard failed ({response.status_code}); "
                f"{len(enrolment.outbox)} result(s) wait"
            )
            break
        enrolment.outbox.pop(0)
        if response.status_code != 201:
            warning = f"the scoreboard refused a result: {_message(response)}"
    enrolment.write(layout)
    return warning
