import stat

import pytest

from latentlab.atomic import AtomicFile, make_temp_dir, write_text_atomic, write_with


def test_written_file_gets_the_umask_mode(tmp_path, umask_027):
    path = write_text_atomic(tmp_path / "a.txt", "hello")
    assert path.read_text() == "hello"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert stat.S_IMODE(make_temp_dir(tmp_path / "d").stat().st_mode) == 0o750


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("old")

    def fail(tmp):
        tmp.write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        write_with(path, fail)
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_temporary_is_hidden_beside_the_destination(tmp_path):
    f = AtomicFile(tmp_path / "x.bin")
    assert f.tmp.parent == tmp_path and f.tmp.name.startswith(".x.bin.") and f.tmp.name.endswith(".tmp")
    f.tmp.write_bytes(b"1")
    f.commit()
    assert (tmp_path / "x.bin").read_bytes() == b"1" and not f.tmp.exists()
