"""One ending for every command: ``--json`` alone on stdout, else tables then what to say,
and a :class:`LabctlError` as its sentence and exit code (typer's runner, in-process)."""

import json

import typer
from rich.table import Table
from typer.testing import CliRunner

from labctl.commands.output import JsonFlag, Outcome, emits
from labctl.errors import LabctlError

app = typer.Typer()


@app.command()
@emits
def report(fail: bool = False, refuse: bool = False, as_json: JsonFlag = False) -> Outcome:
    if refuse:
        raise LabctlError("no such thing; try labctl lab list", 3)
    table = Table("row")
    table.add_row("first row")
    return Outcome(
        json={"rows": ["first row"]},
        tables=[table],
        lines=["said"],
        notes=["careful"],
        artefacts={"profile": "/tmp/p.json"},
        next="labctl something",
        failure="it did not work" if fail else None,
        exit_code=1 if fail else 0,
    )


def test_json_is_alone_on_stdout() -> None:
    result = CliRunner().invoke(app, ["--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"rows": ["first row"]}
    assert "said" not in result.stderr and "next:" not in result.stderr


def test_the_table_view_ends_with_notes_artefacts_and_the_next_command() -> None:
    result = CliRunner().invoke(app, [])
    assert result.exit_code == 0 and "first row" in result.stdout
    said = result.stderr
    assert said.index("said") < said.index("note: careful") < said.index("/tmp/p.json")
    assert said.rstrip().endswith("next: labctl something")


def test_a_failure_is_said_in_both_views_and_sets_the_exit_code() -> None:
    for args in ([], ["--json"]):
        result = CliRunner().invoke(app, ["--fail", *args])
        assert result.exit_code == 1 and "it did not work" in result.stderr


def test_an_error_is_its_sentence_and_its_code_never_a_traceback() -> None:
    result = CliRunner().invoke(app, ["--refuse"])
    assert result.exit_code == 3
    assert "labctl: no such thing; try labctl lab list" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout and result.exception is not None
    assert isinstance(result.exception, SystemExit)
