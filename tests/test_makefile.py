"""``make up`` on a machine that lacks the stack's Debian packages: as a user who cannot
install them, it starts nothing and prints the one line that installs them (as root it
installs them itself: the suite's own set-up is that path)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
NOBODY = 65534


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run make as another user")
def test_make_up_without_the_packages_says_what_to_install_and_starts_nothing(
    tmp_path: Path,
) -> None:
    bin_dir = tmp_path / "bin"  # a PATH where none of the packages' commands is found
    bin_dir.mkdir()
    (bin_dir / "id").symlink_to(shutil.which("id") or "/usr/bin/id")
    run_dir = tmp_path / "run"
    result = subprocess.run(
        ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
         "env", f"PATH={bin_dir}", shutil.which("make") or "/usr/bin/make", "-s", "-C",
         str(ROOT), "up", f"RUN_DIR={run_dir}"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if "sudo apt-get install" in line]
    assert len(lines) == 1 and "prometheus" in lines[0] and "redis-server" in lines[0], result
    assert not run_dir.exists()  # nothing was started
