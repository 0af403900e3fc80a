"""``make up`` on a machine that lacks the stack's Debian packages: as a user who cannot
install them, it starts nothing and prints the one line that installs them (as root it
installs them itself: the suite's own set-up is that path)."""

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
NOBODY = 65534


@pytest.fixture
def checkout() -> Iterator[Path]:
    """A folder another user can read, with the project's Makefile (pytest's own temporary
    folders are private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="lab-make-"))
    try:
        folder.chmod(0o755)
        shutil.copy(ROOT / "Makefile", folder / "Makefile")
        (folder / "Makefile").chmod(0o644)
        yield folder
    finally:
        shutil.rmtree(folder)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run make as another user")
def test_make_up_without_the_packages_says_what_to_install_and_starts_nothing(
    checkout: Path,
) -> None:
    bin_dir = checkout / "bin"  # a PATH where none of the packages' commands is found
    bin_dir.mkdir()
    (bin_dir / "id").symlink_to(shutil.which("id") or "/usr/bin/id")
    run_dir = checkout / "run"
    result = subprocess.run(
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
         "env", f"PATH={bin_dir}", shutil.which("make") or "/usr/bin/make", "-s", "-C",
         str(checkout), "up", f"RUN_DIR={run_dir}"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if "sudo apt-get install" in line]
    assert len(lines) == 1 and "prometheus" in lines[0] and "redis-server" in lines[0], result
    assert not run_dir.exists() and not (checkout / ".venv").exists()  # nothing was started
