"""``labctl smtp serve|status|fail|heal``: the lab's SMTP sink."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from labctl import contract
from labctl.commands.output import JsonFlag, Outcome, RunDir, emits
from labctl.contract import RunLayout
from labctl.errors import LabctlError
from labctl.stack.mail_sink import Mailbox, serve

app = typer.Typer(
    help="The lab's SMTP sink: run it, count what it kept, make it fail.", no_args_is_help=True
)
SinkDir = Annotated[
    Path | None, typer.Option("--dir", help="the sink's directory; default RUN_DIR/smtp")
]


def _mailbox(run_dir: Path, directory: Path | None) -> Mailbox:
    return Mailbox(directory or RunLayout(run_dir).smtp)


@app.command("serve")
@emits
def smtp_serve(
    directory: Annotated[Path, typer.Option("--dir", help="where received mail is kept")],
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="SMTP port")] = contract.SMTP_PORT,
    metrics_port: Annotated[
        int, typer.Option(help="port of the sink's /metrics")
    ] = contract.SMTP_METRICS_PORT,
) -> Outcome:
    """Run the SMTP sink in the foreground (``labctl up`` starts it for you)."""
    try:
        asyncio.run(serve(host, port, directory, metrics_port))
    except OSError as exc:
        raise LabctlError(f"smtp serve cannot listen on {host}:{port}: {exc}", 1) from None
    return Outcome()


@app.command("status")
@emits
def smtp_status(
    run_dir: RunDir = Path("run"), directory: SinkDir = None, as_json: JsonFlag = False
) -> Outcome:
    """What the sink kept: messages, distinct notices (idempotency keys), its fail rate."""
    box = _mailbox(run_dir, directory)
    messages = box.messages()
    summary = {
        "messages": len(messages),
        "distinct_notices": len({m.idempotency_key for m in messages if m.idempotency_key}),
        "fail_rate": box.fail_rate(),
        "directory": str(box.directory),
    }
    return Outcome(
        json=summary,
        lines=[f"  {key:<17} {value}" for key, value in summary.items()],
        next="[bold]labctl smtp fail --rate 0.5[/bold] to make half the mail bounce",
    )


@app.command("fail")
@emits
def smtp_fail(
    rate: Annotated[float, typer.Option(help="share of messages refused with 451, 0..1")],
    run_dir: RunDir = Path("run"),
    directory: SinkDir = None,
) -> Outcome:
    """Make the sink answer a share of messages with a temporary failure (451)."""
    if not 0.0 <= rate <= 1.0:
        raise LabctlError(f"--rate must be between 0 and 1, not {rate}", 2)
    box = _mailbox(run_dir, directory)
    box.set_fail_rate(rate)
    return Outcome(
        lines=[f"the sink now refuses {rate:.0%} of messages (wrote {box.control_file})"],
        next="watch leaky_app_smtp_sends_total; [bold]labctl smtp heal[/bold] to stop",
    )


@app.command("heal")
@emits
def smtp_heal(run_dir: RunDir = Path("run"), directory: SinkDir = None) -> Outcome:
    """Make the sink accept every message again."""
    _mailbox(run_dir, directory).set_fail_rate(0.0)
    return Outcome(
        lines=["the sink accepts every message again"], next="[bold]labctl smtp status[/bold]"
    )
