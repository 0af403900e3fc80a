"""Every notebook in notebooks/ (jupytext py:percent, the source of truth) is built and
executed top to bottom with nbclient against the session's lab stack, with short captures.
A cell that raises (a notebook asserts what it shows) fails the test."""

import os
import time
from pathlib import Path

import jupytext
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from labctl.course.catalogue import all_labs

pytestmark = pytest.mark.integration
NOTEBOOKS_DIR = Path(__file__).parents[2] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]-*.py"))
BUDGET_SECONDS = 180  # the ceiling per notebook; a cell timeout, not a speed claim


def test_every_lab_has_a_notebook_that_pages_on_its_signals() -> None:
    """The notebooks are where each lab's signals are checked live: each one starts its lab
    and waits in ``walk.page()`` until every signal has crossed."""
    for lab in all_labs():
        path = NOTEBOOKS_DIR / f"{lab.number}-{lab.slug}.py"
        source = path.read_text()
        assert f'LAB = "{lab.number}"' in source, path
        assert "Walkthrough.begin(RUN_DIR, LAB" in source and "walk.page()" in source, path


def test_there_are_notebooks_and_each_is_paired_as_py_percent() -> None:
    assert [p.name for p in NOTEBOOKS][:1] == ["00-tour.py"]
    for path in NOTEBOOKS:
        notebook = jupytext.read(path)
        assert notebook.metadata["jupytext"]["text_representation"]["format_name"] == "percent"
        assert any("parameters" in c.metadata.get("tags", []) for c in notebook.cells), path


@pytest.mark.timeout(BUDGET_SECONDS + 60)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(
    path: Path, lab_stack: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LABCTL_RUN_DIR", str(lab_stack))
    monkeypatch.setenv("LAB_NOTEBOOK_SECONDS", "3")
    monkeypatch.setenv("MPLBACKEND", "agg")
    notebook = jupytext.read(path)
    client = NotebookClient(
        notebook, timeout=BUDGET_SECONDS, kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )  # fmt: skip
    started = time.monotonic()
    try:
        client.execute(env=dict(os.environ))
    except CellExecutionError as exc:
        pytest.fail(f"{path.name}: {exc}")
    finally:
        jupytext.write(notebook, tmp_path / f"{path.stem}.ipynb")  # the executed copy
    elapsed = time.monotonic() - started
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    charts = [o for o in outputs if "image/png" in o.get("data", {})]
    assert charts, f"{path.name} drew no chart (a dashboard panel is a PNG)"
    print(f"{path.name}: {elapsed:.0f} s")
