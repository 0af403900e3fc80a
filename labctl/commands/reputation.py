"""``labctl reputation check|block|rotate``: the internal gRPC reputation service, called as
``labctl`` (its own certificate and token), and the lab PKI's rotation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import grpc
import typer

from labctl.commands.output import JsonFlag, Outcome, RunDir, echo, emits
from labctl.contract import REPUTATION, RunLayout
from labctl.errors import LabctlError
from labctl.stack.pki import LabPki
from labctl.stack.supervisor import Stack
from reputation.client import Identity
from reputation.v1 import reputation_pb2 as pb
from reputation.v1 import reputation_pb2_grpc as pb_grpc

app = typer.Typer(
    help="The internal reputation service (gRPC over mTLS): ask it, feed it, rotate its PKI.",
    no_args_is_help=True,
)
CALLER = "labctl"
Reply = TypeVar("Reply")


def _call(run_dir: Path, method: str, call: Callable[[pb_grpc.ReputationStub], Reply]) -> Reply:
    target = Stack(run_dir).status().require(REPUTATION, "the reputation service").urls["grpc"]
    echo(f"gRPC {method} to {target} (mTLS as {CALLER}, with its token)")
    identity = Identity.of(RunLayout(run_dir).pki, CALLER)
    with identity.channel(target) as channel:
        try:
            return call(pb_grpc.ReputationStub(channel))
        except grpc.RpcError as exc:
            status = exc.code().name if isinstance(exc, grpc.Call) else "UNKNOWN"
            details = exc.details() if isinstance(exc, grpc.Call) else str(exc)
            code = 2 if status == "INVALID_ARGUMENT" else 1
            raise LabctlError(f"the reputation service refused {method}: {status}: {details}",
                              code) from None  # fmt: skip


@app.command("check")
@emits
def reputation_check(
    url: Annotated[str, typer.Argument(help="the URL to judge, as link creation would")],
    run_dir: RunDir = Path("run"),
    as_json: JsonFlag = False,
) -> Outcome:
    """Ask whether URL may be shortened; exits 4 when it may not."""
    verdict = _call(run_dir, "CheckUrl",
                    lambda stub: stub.CheckUrl(pb.CheckUrlRequest(url=url), timeout=5))  # fmt: skip
    reason = pb.Reason.Name(verdict.reason).removeprefix("REASON_").lower()
    body = {"url": url, "safe": verdict.safe, "reason": reason, "detail": verdict.detail,
            "ttl_seconds": verdict.ttl_seconds}  # fmt: skip
    word = "safe" if verdict.safe else f"refused ({reason})"
    return Outcome(
        json=body,
        lines=[f"{url}: {word}: {verdict.detail}"],
        next=None if verdict.safe else f"labctl reputation block HOST --run-dir {run_dir}",
        exit_code=0 if verdict.safe else 4,
    )


@app.command("block")
@emits
def reputation_block(
    host: Annotated[str, typer.Argument(help="the host to put on the blocklist")],
    note: Annotated[str, typer.Option(help="why, for the service's log")] = "",
    run_dir: RunDir = Path("run"),
    as_json: JsonFlag = False,
) -> Outcome:
    """Put HOST (and every subdomain) on the blocklist at once."""
    reply = _call(run_dir, "BlockHost",
                  lambda stub: stub.BlockHost(pb.BlockHostRequest(host=host, note=note),
                                              timeout=5))  # fmt: skip
    said = "blocked" if reply.added else "already blocked"
    return Outcome(
        json={"host": host, "added": reply.added, "blocked_hosts": reply.blocked_hosts},
        lines=[f"{host}: {said}; {reply.blocked_hosts} hosts on the blocklist"],
        next=f"labctl reputation check https://{host}/ --run-dir {run_dir}",
    )


@app.command("rotate")
@emits
def reputation_rotate(run_dir: RunDir = Path("run"), as_json: JsonFlag = False) -> Outcome:
    """New certificates and tokens for every party, same CA; nothing restarts. Proves it with a
    call on a new connection, made with the new certificate and token."""
    pki = LabPki(RunLayout(run_dir).pki)
    echo(f"rotating the certificates and tokens under {pki.directory}")
    renewed = pki.rotate()
    verdict = _call(run_dir, "CheckHost",
                    lambda stub: stub.CheckHost(pb.CheckHostRequest(host="example.org"),
                                                timeout=5))  # fmt: skip
    return Outcome(
        json={"renewed": renewed, "checked_after": verdict.detail},
        lines=[f"renewed: {', '.join(renewed)}", f"a call on a new connection: {verdict.detail}"],
        next=f"labctl status --run-dir {run_dir}",
    )


@app.command("pki")
@emits
def reputation_pki(
    directory: Annotated[
        Path | None, typer.Option("--dir", help="where the PKI lives; default RUN_DIR/pki")
    ] = None,
    run_dir: RunDir = Path("run"),
    as_json: JsonFlag = False,
) -> Outcome:
    """Create the lab CA, the certificates and the tokens where missing or due (``labctl up``
    does it too; compose's ``pki`` service runs this)."""
    pki = LabPki(directory or RunLayout(run_dir).pki)
    echo(f"the lab PKI under {pki.directory}")
    written = pki.ensure()
    return Outcome(
        json={"directory": str(pki.directory), "written": written},
        lines=[f"wrote: {', '.join(written)}" if written else "everything is there and fresh"],
        next=f"labctl reputation rotate --run-dir {run_dir}",
    )
