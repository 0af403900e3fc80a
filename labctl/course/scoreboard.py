"""The instructor's workshop scoreboard: trainees' drill and lab results, live, in one page.

The instructor runs it (``labctl workshop serve``) where the room's machines reach it; each
trainee joins once with the room's join token (``labctl workshop join URL TOKEN``) and gets a
key of their own, with which their ``labctl`` signs every result it sends (HMAC-SHA256 over
the body). The server refuses a wrong join token (401), a result signed with another key or by
nobody who joined (401, a forgery), a result whose sequence number was recorded already (409,
a replay), and a result that does not fit what it knows (422: an answer to a drill that never
started, a lab that does not exist, a reveal naming another lab's fault). Everything lives in
one SQLite file, written for its owner only (0600: it holds the trainees' keys), so a restart
loses nothing. The page and its data need the board token, which only the instructor holds:
a projected board names the faults of revealed drills, and a room may run one drill together.

Usage::

    store = ScoreStore.open(Path("run/scoreboard"))
    uvicorn.run(create_app(store), host="127.0.0.1", port=8100)
    # the page: http://127.0.0.1:8100/?key=<store.tokens.board>
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import statistics
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Header, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from labctl.course.catalogue import Lab, all_labs
from labctl.stack.private_files import write_private

NAME = r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}$"
# How far a trainee's clock may run ahead of the server's before a result is refused.
CLOCK_SKEW_S = 300.0
PAGE = Path(__file__).with_name("scoreboard.html")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DrillStarted(_Strict):
    kind: Literal["drill_started"]
    drill: float = Field(description="the drill's start time: its id for this trainee")
    at: float


class DrillAnswered(_Strict):
    kind: Literal["answer"]
    drill: float
    at: float
    correct: bool  # the function named stays on the trainee's machine: the board is projected
    score: int | None = Field(default=None, ge=0, le=100)  # the drill's score, once solved


class DrillHinted(_Strict):
    kind: Literal["hint"]
    drill: float
    at: float
    level: int = Field(ge=1, le=3)


class DrillRevealed(_Strict):
    kind: Literal["revealed"]
    drill: float
    at: float
    lab: str = Field(pattern=r"^\d\d$")
    fault: str


class LabChecked(_Strict):
    kind: Literal["lab_checked"]
    at: float
    lab: str = Field(pattern=r"^\d\d$")
    passed: bool
    how: Literal["answer", "fix"]


Result = Annotated[
    DrillStarted | DrillAnswered | DrillHinted | DrillRevealed | LabChecked,
    Field(discriminator="kind"),
]
RESULT: TypeAdapter[DrillStarted | DrillAnswered | DrillHinted | DrillRevealed | LabChecked] = (
    TypeAdapter(Result)
)


class Envelope(_Strict):
    """What a trainee's ``labctl`` posts: the next sequence number and one result."""

    seq: int = Field(ge=1)
    result: dict[str, Any]


class JoinRequest(_Strict):
    token: str = Field(min_length=1, max_length=200)
    name: str = Field(pattern=NAME)


class Refused(HTTPException):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(status, {"error": error, "message": message})


def signature(key: str, body: bytes) -> bytes:
    """The signature a result carries (hex): HMAC-SHA256 of its raw body under the trainee's
    key."""
    return hmac.new(key.encode(), body, hashlib.sha256).hexdigest().encode()


@dataclass(frozen=True)
class Tokens:
    join: str  # for trainees: joining the room
    board: str  # for the instructor: the page and its data

    @classmethod
    def load_or_make(cls, folder: Path) -> Tokens:
        path = folder / "tokens.json"
        if path.exists():
            data = json.loads(path.read_text())
            return cls(data["join"], data["board"])
        tokens = cls(secrets.token_urlsafe(16), secrets.token_urlsafe(16))
        write_private(path, json.dumps({"join": tokens.join, "board": tokens.board}).encode())
        return tokens


SCHEMA = """
CREATE TABLE IF NOT EXISTS trainees (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, key TEXT NOT NULL, joined_at REAL NOT NULL,
    last_seq INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS results (
    trainee TEXT NOT NULL REFERENCES trainees(id), seq INTEGER NOT NULL, kind TEXT NOT NULL,
    at REAL NOT NULL, body TEXT NOT NULL, received_at REAL NOT NULL,
    PRIMARY KEY (trainee, seq));
"""


class ScoreStore:
    """The trainees and their results in SQLite; every method is one transaction."""

    def __init__(self, folder: Path, tokens: Tokens, labs: list[Lab]) -> None:
        self.folder = folder
        self.tokens = tokens
        self.labs = {lab.number: lab for lab in labs}
        db = folder / "scores.db"
        if not db.exists():  # created for its owner only: it holds the trainees' keys
            os.close(os.open(db, os.O_CREAT | os.O_WRONLY, 0o600))
        self._db = sqlite3.connect(db, check_same_thread=False, isolation_level=None)
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()  # FastAPI runs these handlers on a thread pool

    @classmethod
    def open(cls, folder: Path) -> ScoreStore:
        folder.mkdir(parents=True, exist_ok=True)
        return cls(folder, Tokens.load_or_make(folder), all_labs())

    def close(self) -> None:
        self._db.close()

    def join(self, request: JoinRequest) -> tuple[str, str]:
        if not hmac.compare_digest(request.token.encode(), self.tokens.join.encode()):
            raise Refused(401, "wrong_token", "that is not this workshop's join token")
        trainee, key = secrets.token_hex(8), secrets.token_urlsafe(32)
        with self._lock:
            try:
                self._db.execute(
                    "INSERT INTO trainees (id, name, key, joined_at) VALUES (?, ?, ?, ?)",
                    (trainee, request.name, key, time.time()),
                )
            except sqlite3.IntegrityError:
                raise Refused(
                    409, "name_taken", f"{request.name!r} has joined already; pick another name"
                ) from None
        return trainee, key

    def record(self, trainee: str, signed: str, body: bytes) -> int:
        """Check and keep one result; its sequence number."""
        with self._lock:
            row = self._db.execute(
                "SELECT key, last_seq FROM trainees WHERE id = ?", (trainee,)
            ).fetchone()
            if row is None or not hmac.compare_digest(signature(row[0], body), signed.encode()):
                raise Refused(
                    401,
                    "forged",
                    "the signature does not match: a result must come "
                    "from the trainee's own labctl (labctl workshop join)",
                )
            try:
                envelope = Envelope.model_validate_json(body)
                result = RESULT.validate_python(envelope.result)
            except ValidationError as exc:
                raise Refused(422, "invalid", _first_error(exc)) from None
            if envelope.seq <= row[1]:
                raise Refused(
                    409,
                    "replayed",
                    f"result {envelope.seq} was recorded already "
                    f"(the last is {row[1]}): a replayed result is refused",
                )
            self._check(trainee, result)
            self._db.execute("BEGIN")
            self._db.execute(
                "INSERT INTO results VALUES (?, ?, ?, ?, ?, ?)",
                (
                    trainee,
                    envelope.seq,
                    result.kind,
                    result.at,
                    result.model_dump_json(),
                    time.time(),
                ),
            )
            self._db.execute(
                "UPDATE trainees SET last_seq = ? WHERE id = ?", (envelope.seq, trainee)
            )
            self._db.execute("COMMIT")
        return envelope.seq

    def _check(
        self,
        trainee: str,
        result: DrillStarted | DrillAnswered | DrillHinted | DrillRevealed | LabChecked,
    ) -> None:
        if result.at > time.time() + CLOCK_SKEW_S:
            raise Refused(422, "invalid", "the result is dated in the future")
        if isinstance(result, DrillStarted | LabChecked):
            if isinstance(result, LabChecked) and result.lab not in self.labs:
                raise Refused(422, "invalid", f"there is no lab {result.lab}")
            return
        started = self._db.execute(
            "SELECT 1 FROM results WHERE trainee = ? AND kind = 'drill_started' AND at = ?",
            (trainee, result.drill),
        ).fetchone()
        if started is None or result.at < result.drill:
            raise Refused(422, "invalid", "no drill of this trainee started then")
        if isinstance(result, DrillRevealed):
            lab = self.labs.get(result.lab)
            if lab is None or lab.fault != result.fault:
                raise Refused(422, "invalid", f"lab {result.lab} has no fault {result.fault!r}")

    def results(self) -> tuple[list[str], list[tuple[str, dict[str, Any]]]]:
        """Every trainee's name in joining order, and every result by time with its name."""
        with self._lock:
            names = [
                row[0] for row in self._db.execute("SELECT name FROM trainees ORDER BY joined_at")
            ]
            rows = self._db.execute(
                "SELECT t.name, r.body FROM results r JOIN trainees t "
                "ON t.id = r.trainee ORDER BY r.at, r.seq"
            ).fetchall()
        return names, [(name, json.loads(body)) for name, body in rows]

    def board(self) -> dict[str, Any]:
        """Each trainee's labs and drills, and the class's times to the culprit per fault."""
        names, results = self.results()
        trainees: dict[str, dict[str, Any]] = {
            name: {"name": name, "labs": {}, "drills": {}} for name in names
        }
        for name, result in results:
            person, kind = trainees[name], result["kind"]
            if kind == "lab_checked":
                passed = person["labs"].get(result["lab"], False) or result["passed"]
                person["labs"][result["lab"]] = passed
            else:
                key = f"{result['drill']:.3f}"
                drill = person["drills"].setdefault(
                    key,
                    {
                        "started_at": result["drill"],
                        "answers": 0,
                        "hints": 0,
                        "score": None,
                        "seconds_to_culprit": None,
                        "lab": None,
                        "fault": None,
                        "revealed": False,
                    },
                )
                if kind == "answer":
                    drill["answers"] += 1
                    if result["correct"] and drill["seconds_to_culprit"] is None:
                        drill["seconds_to_culprit"] = round(result["at"] - result["drill"], 1)
                        drill["score"] = result.get("score")
                elif kind == "hint":
                    drill["hints"] = max(drill["hints"], result["level"])
                elif kind == "revealed":
                    drill.update(lab=result["lab"], fault=result["fault"], revealed=True)
        times: dict[str, list[float | None]] = {}
        for person in trainees.values():
            person["drills"] = list(person["drills"].values())
            for drill in person["drills"]:
                if drill["revealed"]:
                    times.setdefault(drill["fault"], []).append(drill["seconds_to_culprit"])
        faults = []
        for fault, seconds in sorted(times.items()):
            solved = [s for s in seconds if s is not None]
            faults.append(
                {
                    "fault": fault,
                    "drills": len(seconds),
                    "solved": len(solved),
                    "median_seconds": statistics.median(solved) if solved else None,
                    "best_seconds": min(solved, default=None),
                }
            )
        return {"trainees": list(trainees.values()), "faults": faults, "at": time.time()}


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(part) for part in error["loc"]) or "body"
    return f"{where}: {error['msg']}"


def create_app(store: ScoreStore) -> FastAPI:
    """The scoreboard's HTTP API and page over ``store``."""
    app = FastAPI(title="labctl workshop scoreboard", docs_url=None, redoc_url=None)

    def board_key(key: str) -> None:
        if not hmac.compare_digest(key.encode(), store.tokens.board.encode()):
            raise Refused(401, "wrong_token", "the board needs the instructor's board token")

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        return JSONResponse({"error": "invalid", "message": f"{where}: {error['msg']}"}, 422)

    @app.exception_handler(HTTPException)
    async def refused(_request: Request, exc: HTTPException) -> JSONResponse:
        detail: Any = exc.detail
        if not isinstance(detail, dict):
            detail = {"error": "http", "message": str(detail)}
        return JSONResponse(detail, exc.status_code)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/join", status_code=201)
    def join(request: JoinRequest) -> dict[str, str]:
        trainee, key = store.join(request)
        return {"trainee": trainee, "key": key}

    @app.post("/api/results", status_code=201)
    async def results(
        request: Request,
        x_trainee: Annotated[str, Header(max_length=64)],
        x_signature: Annotated[str, Header(max_length=128)],
    ) -> dict[str, int]:
        body = await request.body()
        if len(body) > 4096:
            raise Refused(413, "too_large", "a result is at most 4096 bytes")
        return {"seq": store.record(x_trainee, x_signature, body)}

    @app.get("/api/board")
    def board(key: Annotated[str, Query(max_length=200)] = "") -> dict[str, Any]:
        board_key(key)
        return store.board()

    @app.get("/", response_class=HTMLResponse)
    def page(key: Annotated[str, Query(max_length=200)] = "") -> str:
        board_key(key)
        return PAGE.read_text()

    return app


def room_url(host: str, port: int) -> str:
    """The URL trainees join, as printed by ``labctl workshop serve``."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 (a listen address)
    return f"http://{shown}:{port}"
