"""Files that hold a secret or an answer (keys, tokens, a drill's seed): written 0600, and
atomically, so no other user reads them and no reader sees half a file.

Usage::

    write_private(Path("run/pki/ca.key"), pem)
"""

from __future__ import annotations

import os
from pathlib import Path


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` as a 0600 file, atomically: a temporary file renamed over the old one."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, path)
