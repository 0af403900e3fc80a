"""Open files of a real process, grouped by folder and name shape."""

import subprocess
import sys
from pathlib import Path

import pytest

from labctl.evidence.probes.fds import code_naming, open_files
from labctl.evidence.probes.target import ProbeError
from labctl.records.open_files import FdGroup

HOLDER = """
import sys, time
from pathlib import Path
folder = Path(sys.argv[1])
held = [open(folder / f"segment-{n}.csv", "a") for n in range(1000, 1012)]
held.append(open(folder / "state.json", "a"))
print("ready", flush=True)
time.sleep(60)
"""


def test_a_process_holding_segments_shows_one_group_and_its_stem(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)],
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        groups = open_files(proc.pid)
        top = groups[0]
        assert (top.folder, top.shape, top.count, top.stem) == (
            str(tmp_path),
            "segment-*.csv",
            12,
            "segment-",
        )
        assert top.parts == ["segment-", ".csv"]
        assert any(g.shape == "state.json" and g.count == 1 for g in groups)
    finally:
        proc.kill()  # by its PID, through the Popen handle
        proc.wait(timeout=10)
        assert proc.stdout is not None
        proc.stdout.close()


def test_a_missing_process_is_a_sentence_not_a_traceback() -> None:
    with pytest.raises(ProbeError, match="no process with pid"):
        open_files(2**22 + 12345)


def test_the_code_naming_a_group_has_every_fixed_part_of_its_shape(tmp_path: Path) -> None:
    (tmp_path / "writer.py").write_text(
        "import time\n"
        "\n"
        "class Segments:\n"
        "    def rotate(self, folder):\n"
        '        return open(folder / f"segment-{time.time_ns()}.csv", "a")\n'
        "\n"
        "def describe():\n"
        '    return "segment-* files are rotated"\n'
    )
    group = FdGroup(str(tmp_path), "segment-*.csv", 12)
    hits = code_naming(group, [tmp_path])
    assert [(h.location.function, h.location.line) for h in hits] == [("Segments.rotate", 5)]
    assert code_naming(FdGroup(str(tmp_path), "*", 3), [tmp_path]) == []


PER_ID = """
import sys, time
from pathlib import Path
folder = Path(sys.argv[1])
held = [open(folder / f"clicks-{code}.csv", "a") for code in sys.argv[2:]]
held += [open(folder / name, "a") for name in ("notes.txt", "todo.txt", "a.log")]
print("ready", flush=True)
time.sleep(60)
"""


def test_files_one_per_id_of_letters_fold_into_one_shape(tmp_path: Path) -> None:
    codes = ["aBxQz", "Zq9Rt", "m3Kp0", "QQwer", "t7yU", "Hj2k1L"]
    proc = subprocess.Popen([sys.executable, "-c", PER_ID, str(tmp_path), *codes],
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        groups = open_files(proc.pid)
        assert (groups[0].shape, groups[0].count, groups[0].parts) == (
            "clicks-*.csv",
            len(codes),
            ["clicks-", ".csv"],
        )
        # Few files of an extension keep their own names.
        assert {g.shape for g in groups[1:]} == {"notes.txt", "todo.txt", "a.log"}
    finally:
        proc.kill()  # by its PID, through the Popen handle
        proc.wait(timeout=10)
        assert proc.stdout is not None
        proc.stdout.close()
