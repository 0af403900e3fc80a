"""``--inject``: labctl's window run inside an asyncio process that has no debug surface
counts its tasks and leaves nothing behind; what cannot be injected is refused with why.
(Collections and loop stalls measured this way: tests/labctl/commands/test_profile.py.)"""

import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from labctl.evidence.probes.injection import EXIT_NOT_INJECTED, inject_window
from labctl.evidence.probes.target import EXIT_NOT_PYTHON, EXIT_TOOL_MISSING, ProbeError
from tests.labctl.targets import TARGETS, process_group, serving
from tests.polling import eventually_sync

pytestmark = pytest.mark.integration


def page_text(pid: int, address: int) -> bytes:
    """What ``pid`` holds at ``address`` now (b"" where nothing is mapped)."""
    try:
        with open(f"/proc/{pid}/mem", "rb") as memory:
            return os.pread(memory.fileno(), 64, address)
    except OSError:
        return b""


def test_a_foreign_task_leak_is_counted_by_the_coroutine_and_line_it_waits_at(
    tmp_path: Path,
) -> None:
    with serving("taskleak.py", tmp_path) as pid:
        threads = psutil.Process(pid).num_threads()
        first = inject_window(pid, 2, tmp_path / "first", echo=lambda _: None)
        page_after_first = page_text(pid, first.page)
        second = inject_window(pid, 1, tmp_path / "second", echo=lambda _: None)
        eventually_sync(lambda: psutil.Process(pid).num_threads() == threads,
                        "the window's watchdog thread ended")  # fmt: skip
    before, after = first.tasks
    assert after.count - before.count >= 50, (before.count, after.count)
    was = before.by_site()
    grown = max(after.groups, key=lambda g: g.count - was.get(g.site, 0))
    assert grown.site.function == "Fanout.deliver", after.groups
    source = (TARGETS / "taskleak.py").read_text().splitlines()
    assert source[grown.site.line - 1].strip() == "await ack.wait()  " \
        "# subscriber 3 was retired: nobody sets its event", grown.site  # fmt: skip
    assert grown.oldest_age_seconds >= 1.5  # seen at both ends of the window
    assert second.tasks[0].count > after.count  # still leaking: the window changed nothing
    # Nothing stays: no thread, no gc callback (the second window found as many as the first),
    # not the page the debugger wrote its line into.
    assert first.leftovers["threads"] == 0 and second.leftovers["threads"] == 0
    assert second.leftovers["gc_callbacks_at_start"] == first.leftovers["gc_callbacks_at_start"]
    assert first.page and not page_after_first.startswith(b"exec(open("), page_after_first
    assert first.injected_with == "lldb and Py_AddPendingCall"
    assert first.python == f"{sys.version_info[0]}.{sys.version_info[1]}.{sys.version_info[2]}"


def test_a_target_whose_main_thread_runs_no_python_code_is_refused_with_why(
    tmp_path: Path,
) -> None:
    blocked = "import threading, time\n" \
        "threading.Thread(target=lambda: [time.sleep(0.01) for _ in iter(int, 1)]).start()\n" \
        "print('ready', flush=True)\ntime.sleep(600)\n"  # fmt: skip
    with process_group([sys.executable, "-c", blocked], stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        with pytest.raises(ProbeError) as refused:
            inject_window(proc.pid, 1, tmp_path, echo=lambda _: None, start_within=1)
        assert proc.poll() is None  # the target lives on
        proc.stdout.close()
    assert refused.value.exit_code == EXIT_NOT_INJECTED
    assert "ran no Python code" in str(refused.value)
    assert "py-spy, memray and /proc still give" in str(refused.value)
    assert not (tmp_path / "window.json").exists()


def test_what_cannot_be_injected_is_refused_with_a_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with process_group(["sleep", "60"]) as sleeper, pytest.raises(ProbeError) as not_python:
        inject_window(sleeper.pid, 1, tmp_path, echo=lambda _: None)
    assert not_python.value.exit_code == EXIT_NOT_PYTHON
    with serving("taskleak.py", tmp_path) as pid:
        monkeypatch.setenv("PATH", str(tmp_path))  # no lldb to be found
        monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
        with pytest.raises(ProbeError) as no_debugger:
            inject_window(pid, 1, tmp_path, echo=lambda _: None)
    assert no_debugger.value.exit_code == EXIT_TOOL_MISSING
    assert "lldb is not installed; install it with: apt-get install lldb" in str(no_debugger.value)
