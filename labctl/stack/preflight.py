"""What the lab needs on this machine, checked, each gap with the sentence that fixes it.

Usage::

    for check in run_checks(): print(check.name, check.ok, check.fix)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from labctl import contract
from labctl.records.checks import Check
from labctl.stack.ports import is_free

CAP_SYS_PTRACE = 19
LAB_PORTS = {
    "service": contract.SERVICE_PORT,
    "metrics": contract.METRICS_PORT,
    "debug surface": contract.DEBUG_PORT,
    "prometheus": contract.PROMETHEUS_PORT,
}


def _tool_version(path: str, *args: str) -> str:
    try:
        out = subprocess.run([path, *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"installed at {path}, but `{' '.join(args)}` failed: {exc}"
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else path


def _which(name: str) -> str | None:
    here = Path(sys.executable).parent
    return shutil.which(name, path=f"{here}{os.pathsep}{os.environ.get('PATH', '')}")


def in_container() -> bool:
    if Path("/.dockerenv").exists() or Path("/run/.containerenv").exists():
        return True
    try:
        cgroup = Path("/proc/1/cgroup").read_text()
    except OSError:
        return False
    return any(word in cgroup for word in ("docker", "kubepods", "containerd", "libpod"))


def _has_cap_sys_ptrace() -> bool:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) & (1 << CAP_SYS_PTRACE))
    except (OSError, ValueError):
        pass
    return False


def check_ptrace() -> Check:
    try:
        scope = int(Path("/proc/sys/kernel/yama/ptrace_scope").read_text())
    except (OSError, ValueError):
        scope = 0  # no Yama: classic ptrace rules
    root = os.geteuid() == 0
    cap = _has_cap_sys_ptrace()
    ok = scope < 3 and (cap or scope == 0)
    detail = f"ptrace_scope={scope}, uid={os.geteuid()}, CAP_SYS_PTRACE={'yes' if cap else 'no'}"
    if ok:
        return Check("ptrace (py-spy, memray attach)", True, detail)
    if in_container():
        fix = "run the container with --cap-add SYS_PTRACE (compose: cap_add: [SYS_PTRACE])"
    elif scope == 3:
        fix = "ptrace is disabled until reboot (ptrace_scope=3); use /debug/profile instead"
    elif not root:
        fix = "run as root, or: sudo sysctl kernel.yama.ptrace_scope=0"
    else:
        fix = "add CAP_SYS_PTRACE to this process"
    return Check("ptrace (py-spy, memray attach)", False, detail, fix)


def check_tool(name: str, version_args: tuple[str, ...], fix: str, required: bool) -> Check:
    path = _which(name)
    if path is None:
        return Check(name, False, "not found", fix, required)
    return Check(name, True, _tool_version(path, *version_args), required=required)


def check_python() -> Check:
    version = sys.version_info
    # py-spy 0.4 reads 3.7-3.13; memray and scalene ship wheels for 3.8+ on Linux.
    ok = (3, 8) <= version[:2] <= (3, 13)
    detail = f"Python {version.major}.{version.minor}.{version.micro}"
    fix = "" if ok else "use Python 3.11 (what the lab is tested with)"
    return Check("python for the profilers", ok, detail, fix)


def check_port(name: str, port: int) -> Check:
    ok = is_free(port)
    detail = f"127.0.0.1:{port} {'free' if ok else 'in use'}"
    fix = "" if ok else "labctl up picks a free port instead; or stop what listens there"
    return Check(f"port for {name}", ok, detail, fix, required=False)


def _gdb_can_call() -> bool:
    """gdb 13 cannot call a function in a process on CPUs with AMX state ("Couldn't write
    extended state status"); memray attach needs exactly that, so try it on a child."""
    gdb = _which("gdb")
    if gdb is None:
        return False
    child = subprocess.Popen(["sleep", "30"])
    try:
        result = subprocess.run(
            [gdb, "-batch", "-p", str(child.pid), "-ex", "call (int)getpid()"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return False
    finally:
        child.kill()
        child.wait()
    return f"= {child.pid}" in result.stdout


def check_attach_debugger() -> Check:
    name = "debugger for memray attach"
    lldb = _which("lldb")
    if lldb is not None:
        return Check(name, True, f"lldb: {_tool_version(lldb, '--version')}")
    if _gdb_can_call():
        return Check(name, True, "gdb (can call into a process)")
    detail = "no lldb; gdb missing or unable to call into a process here"
    return Check(name, False, detail, "apt-get install lldb (make test does it)")


def run_checks() -> list[Check]:
    checks: list[Callable[[], Check]] = [
        check_python,
        check_ptrace,
        lambda: check_tool("py-spy", ("--version",), "pip install py-spy", True),
        lambda: check_tool("memray", ("--version",), "pip install memray", True),
        check_attach_debugger,
        lambda: check_tool("scalene", ("--version",), "pip install scalene", False),
        lambda: check_tool(
            "prometheus", ("--version",), "apt-get install prometheus (make test does it)", False
        ),
        lambda: check_tool("promtool", ("--version",), "apt-get install prometheus", False),
        *(lambda n=n, p=p: check_port(n, p) for n, p in LAB_PORTS.items()),
    ]
    return [check() for check in checks]
