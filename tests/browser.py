"""Debian's chromium, headless, as the tests drive it through Playwright."""

import shutil
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# No traffic off the machine, no sandbox as root (the flags the machine's notes give).
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
ARTEFACTS = Path(__file__).parents[1] / "artefacts"  # screenshots a person may look at
