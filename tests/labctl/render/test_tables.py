"""The tables the CLI and notebooks print: each row says what its record says."""

from rich.console import Console
from rich.table import Table

from labctl.records.captures import GrowthSite, HeapReport
from labctl.records.checks import Check
from labctl.records.fault_board import Fault, FaultBoard
from labctl.records.findings import Diagnosis, Finding
from labctl.records.location import Location
from labctl.render import tables


def text(table: Table) -> str:
    console = Console(width=200, record=True)
    console.print(table)
    return console.export_text()


def test_a_finding_row_names_the_function_and_where_it_is() -> None:
    finding = Finding.at("memory", Location("Cache.put", "/srv/app/cache.py", 40), "RSS grew", 0.5)
    shown = text(tables.findings_table(Diagnosis(7, 5, [finding], elapsed_seconds=9.6)))
    assert "Cache.put" in shown and "/srv/app/cache.py:40" in shown
    assert "pid 7 (5 s window, 10 s in all)" in shown


def test_heap_rows_are_mib_still_alive() -> None:
    site = GrowthSite(Location("render", "/srv/app/page.py", 17), 3 * 2**20, 12)
    shown = text(tables.heap_table(HeapReport("pid 1", 5, "memray attach", [site])))
    assert "3.00" in shown and "render" in shown and "memray attach, 5 s" in shown


def test_fault_states_are_hidden_in_a_drill() -> None:
    fault = Fault(
        "task_leak", "tasks kept", "m:f", ["1x"], ["tasks"], ["tasks"], "50k", "subscribers", "10x"
    )
    assert "on 10x" in text(tables.faults_table(FaultBoard([fault], drill=False)))
    hidden = text(tables.faults_table(FaultBoard([fault], drill=True)))
    assert "on 10x" not in hidden and "hidden" in hidden


def test_a_missing_required_check_is_marked_missing_an_optional_one_optional() -> None:
    shown = text(tables.checks_table([
        Check("py-spy", False, "not found", "pip install py-spy"),
        Check("scalene", False, "not found", "pip install scalene", required=False),
        Check("memray", True, "memray 1.13"),
    ]))  # fmt: skip
    assert "missing" in shown and "optional" in shown and "ok" in shown
