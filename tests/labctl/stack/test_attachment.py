"""A service labctl did not start, attached into a run directory: the URLs it records, the
process it finds by port, and what it refuses (the CLI's refusals: test_stack_control.py)."""

import os
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from labctl.contract import SERVICE, RunLayout
from labctl.stack.attachment import (
    AttachError,
    ServiceAddress,
    attach_service,
    listener_pid,
    service_pid,
)
from labctl.stack.processes import ProcessRecord
from labctl.stack.supervisor import Stack

ADDRESS = ServiceAddress(
    api="http://127.0.0.1:8000/",
    debug="http://127.0.0.1:6060/debug/",
    metrics="http://127.0.0.1:9464",
    stream="ws://127.0.0.1:8001",
)


def test_the_urls_are_those_a_record_of_labctl_up_carries_whatever_the_spelling() -> None:
    assert ADDRESS.urls() == {
        "api": "http://127.0.0.1:8000",
        "docs": "http://127.0.0.1:8000/docs",
        "metrics": "http://127.0.0.1:9464/metrics",
        "debug": "http://127.0.0.1:6060/debug/",
        "stream": "ws://127.0.0.1:8001/ws/clicks",
    }


@pytest.fixture
def listening() -> Iterator[int]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def test_the_process_listening_on_the_api_port_is_found(listening: int) -> None:
    assert listener_pid(listening) == os.getpid()
    address = ServiceAddress(f"http://127.0.0.1:{listening}", ADDRESS.debug, ADDRESS.metrics,
                             ADDRESS.stream)  # fmt: skip
    assert service_pid(address, None) == os.getpid()  # this test runs in Python


def test_a_port_nobody_listens_on_asks_for_the_pid() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening
    address = ServiceAddress(f"http://127.0.0.1:{port}", ADDRESS.debug, ADDRESS.metrics,
                             ADDRESS.stream)  # fmt: skip
    with pytest.raises(AttachError, match="pass --pid"):
        service_pid(address, None)


def test_a_process_that_is_not_python_is_refused() -> None:
    proc = subprocess.Popen(["sleep", "30"])
    try:
        with pytest.raises(AttachError, match=r"\(sleep\) is not a Python process"):
            service_pid(ADDRESS, proc.pid)
    finally:
        proc.kill()
        proc.wait()


def test_an_attached_record_is_kept_with_its_tokens_and_down_leaves_it_running(
    tmp_path: Path,
) -> None:
    layout = RunLayout(tmp_path / "run")
    record = attach_service(layout, ADDRESS, "observer\n", "operator", pid=os.getpid())
    assert record.attached and record.pid == os.getpid()
    assert layout.debug_token.read_text() == "observer\n"
    assert layout.operator_token.read_text() == "operator\n"
    assert {p.stat().st_mode & 0o777 for p in (layout.debug_token, layout.operator_token)} == {
        0o600
    }
    assert Stack(layout.root).status().running[SERVICE].attached
    assert Stack(layout.root).down() == [] and psutil.pid_exists(os.getpid())
    # Attached again without an operator token: the old one does not linger.
    attach_service(layout, ADDRESS, "observer", None, pid=os.getpid())
    assert not layout.operator_token.exists()


def test_a_run_directory_holding_a_service_labctl_started_is_refused(tmp_path: Path) -> None:
    layout = RunLayout(tmp_path / "run")
    own = psutil.Process()
    Stack(layout.root).adopt(SERVICE, ProcessRecord(SERVICE, own.pid, own.create_time(),
                                                    own.cmdline(), ""))  # fmt: skip
    with pytest.raises(AttachError, match="attach into another --run-dir"):
        attach_service(layout, ADDRESS, "observer", None, pid=own.pid)
    assert not layout.debug_token.exists()


def test_a_url_that_is_not_http_is_refused(tmp_path: Path) -> None:
    address = ServiceAddress("ftp://127.0.0.1:21", ADDRESS.debug, ADDRESS.metrics, ADDRESS.stream)
    with pytest.raises(AttachError, match="is not an http:// URL"):
        attach_service(RunLayout(tmp_path), address, "observer", None, pid=os.getpid())
