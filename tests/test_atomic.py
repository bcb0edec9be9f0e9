"""Files written whole or not at all, with the umask's mode (latentlab.atomic)."""

import os
import stat
from pathlib import Path

import pytest

from latentlab.atomic import umask, write_atomically


@pytest.fixture
def mask_027():
    previous = os.umask(0o027)
    yield
    os.umask(previous)


def test_the_file_gets_the_umasks_mode(tmp_path, mask_027):
    assert umask() == 0o027
    path = write_atomically(tmp_path / "grid.png", lambda tmp: Path(tmp).write_bytes(b"png"))
    assert path.read_bytes() == b"png"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # not mkstemp's 0600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid.png"]


def test_a_failed_write_keeps_the_previous_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "G.onnx"
    target.write_bytes(b"old")

    def fail(tmp):
        Path(tmp).write_bytes(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        write_atomically(target, fail)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["G.onnx"]
