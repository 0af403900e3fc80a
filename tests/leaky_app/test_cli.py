"""``leaky-app`` refuses bad flags and a bad flags file with exit 2 and a sentence."""

import socket
import subprocess
import sys
from pathlib import Path


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "leaky_app", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        check=False,
    )


def test_bad_port_is_exit_2_without_traceback(tmp_path: Path) -> None:
    result = run("--port", "not-a-port", cwd=tmp_path)
    assert result.returncode == 2
    assert "port" in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_flags_file_at_start_is_exit_2(tmp_path: Path) -> None:
    flags = tmp_path / "flags.json"
    flags.write_text('{"log_level": "LOUD"}')
    result = run("--flags-file", str(flags), "--port", "0", "--metrics-port", "0", cwd=tmp_path)
    assert result.returncode == 2
    assert "flags.json: log_level" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_lists_flags_with_env_equivalents(tmp_path: Path) -> None:
    result = run("--help", cwd=tmp_path)
    assert result.returncode == 0
    for flag in ("--host", "--port", "--db", "--metrics-port", "--flags-file"):
        assert flag in result.stdout


def test_a_port_in_use_is_exit_1_naming_the_flag(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = run(
            *("--port", "0", "--metrics-port", "0", "--debug-port", "0"),
            *("--stream-port", port, "--flags-file", str(tmp_path / "flags.json")),
            cwd=tmp_path,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port} (--stream-port)" in result.stderr
    assert "Traceback" not in result.stderr
