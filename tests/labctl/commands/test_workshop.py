"""``labctl workshop serve|join|status`` end to end: two trainees join a real scoreboard and
their results arrive, live, on the page in a real browser (Debian's chromium, headless, driven
by Playwright); a screenshot is kept in ``artefacts/scoreboard.png``."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright
from typer.testing import CliRunner

from labctl.cli import app
from labctl.contract import RunLayout
from labctl.course.enrolment import report
from tests.browser import ARTEFACTS, CHROMIUM, CHROMIUM_ARGS
from tests.workshop import scoreboard

runner = CliRunner()


def test_status_outside_a_workshop_and_a_wrong_join_token(tmp_path: Path) -> None:
    status = runner.invoke(app, ["workshop", "status", "--run-dir", str(tmp_path)])
    assert status.exit_code == 0 and "not in a workshop" in status.stderr
    with scoreboard(tmp_path / "board") as board:
        wrong = runner.invoke(app, ["workshop", "join", board.url, "guess", "--name", "ann",
                                    "--run-dir", str(tmp_path)])  # fmt: skip
    assert wrong.exit_code == 2 and "that is not this workshop's join token" in wrong.stderr
    assert "Traceback" not in wrong.stderr and not RunLayout(tmp_path).workshop.exists()
    gone = runner.invoke(app, ["workshop", "join", board.url, "guess", "--name", "ann",
                               "--run-dir", str(tmp_path)])  # fmt: skip
    assert gone.exit_code == 3 and "does not answer" in gone.stderr


@pytest.mark.integration
def test_two_trainees_results_arrive_live_on_the_page_in_chromium(tmp_path: Path) -> None:
    with scoreboard(tmp_path / "board") as board:
        rooms = {}
        for name in ("ada", "grace"):
            run_dir = tmp_path / name
            joined = runner.invoke(app, ["workshop", "join", board.url, board.join_token,
                                         "--name", name, "--run-dir", str(run_dir)])  # fmt: skip
            assert joined.exit_code == 0, joined.stderr
            rooms[name] = RunLayout(run_dir)
        status = runner.invoke(app, ["workshop", "status", "--run-dir", str(tmp_path / "ada")])
        assert board.url in status.stdout
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.goto(f"{board.url}/?key={board.board_token}")
                rows = page.locator("#trainees tbody tr")
                expect(rows).to_have_count(2)
                expect(page.locator('[data-trainee="ada"]')).to_contain_text("no drill yet")
                start = time.time()
                for name, seconds in (("ada", 40.0), ("grace", 70.0)):
                    for result in (
                        {"kind": "drill_started", "drill": start, "at": start},
                        {"kind": "answer", "drill": start, "at": start + seconds,
                         "correct": True},
                        {"kind": "revealed", "drill": start, "at": start + seconds + 5,
                         "lab": "04", "fault": "task_leak"},
                    ):  # fmt: skip
                        assert report(rooms[name], result) is None
                # The page polls: the results show up without a reload.
                expect(page.locator('[data-trainee="ada"]')).to_contain_text("culprit in 40 s")
                expect(page.locator('[data-trainee="grace"]')).to_contain_text("lab 04 (task_leak)")
                fault = page.locator('[data-fault="task_leak"]')
                expect(fault).to_contain_text("55 s")  # the class's median: (40 + 70) / 2
                expect(fault).to_contain_text("40 s")  # and its best
                ARTEFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTEFACTS / "scoreboard.png"), full_page=True)
                denied = browser.new_page()
                denied.goto(f"{board.url}/?key={board.join_token}")
                expect(denied.locator("body")).to_contain_text("the instructor's board token")
            finally:
                browser.close()
