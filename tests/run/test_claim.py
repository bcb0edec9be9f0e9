"""Who may write a run directory: the lock, existing runs, users' folders, stale temporaries."""

import json
import os
import socket
import subprocess
import sys

import pytest

from latentlab.config import UserError
from latentlab.run.claim import claim_run
from latentlab.run.lock import RunLock, RunLocked

HOLD = """
import sys, time
from latentlab.run.lock import RunLock
lock = RunLock(sys.argv[1]).acquire()
print("held", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def holder(tmp_path):
    """Another process holding a run's lock until the test ends."""
    procs = []

    def start(root):
        root.mkdir(parents=True, exist_ok=True)
        p = subprocess.Popen([sys.executable, "-c", HOLD, str(root)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
        assert p.stdout.readline().strip() == "held"
        procs.append(p)
        return p

    yield start
    for p in procs:
        p.stdin.close()
        p.wait(timeout=30)


def make_run(root, step=3):
    (root / "checkpoints").mkdir(parents=True)
    (root / "samples").mkdir()
    (root / "config.toml").write_text("name = 'x'\n")
    (root / "metrics.jsonl").write_text("".join(json.dumps({"step": s}) + "\n" for s in range(1, step + 1)))
    return root


def test_a_live_lock_is_refused_naming_its_process(tmp_path, holder):
    p = holder(tmp_path / "run")
    with pytest.raises(RunLocked, match=rf"pid {p.pid} on {socket.gethostname()}"):
        RunLock(tmp_path / "run").acquire()


def test_a_dead_process_lock_is_taken_over(tmp_path, holder):
    p = holder(tmp_path / "run")
    p.stdin.close()
    p.wait(timeout=30)
    with RunLock(tmp_path / "run") as lock:
        assert json.loads(lock.path.read_text())["pid"] == os.getpid()
    assert lock.path.read_text() == ""  # released: nobody named as holder


def test_a_lock_file_naming_a_dead_pid_does_not_block(tmp_path):
    root = tmp_path / "run"
    root.mkdir()
    (root / ".lock").write_text(json.dumps({"pid": 999999999, "host": socket.gethostname()}))
    RunLock(root).acquire().release()


def test_existing_run_needs_resume_or_force_new(tmp_path):
    root = make_run(tmp_path / "run")
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    with pytest.raises(UserError, match="already holds a latentlab run; continue it with --resume, or start over "
                                        "with --force-new"):
        claim_run(root)
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before


def test_force_new_moves_the_old_run_aside_only_when_begun(tmp_path):
    root = make_run(tmp_path / "run")
    claim = claim_run(root, force_new=True)
    assert (root / "config.toml").exists()  # a set-up failure now would leave it in place
    claim.begin()
    assert claim.moved_to.name.startswith("run.old-") and (claim.moved_to / "config.toml").exists()
    assert sorted(os.listdir(root)) == [".lock"]
    claim.release()


def test_abandoned_force_new_leaves_the_old_run(tmp_path):
    root = make_run(tmp_path / "run")
    claim_run(root, force_new=True).abandon()
    assert (root / "metrics.jsonl").exists() and [p.name for p in tmp_path.iterdir()] == ["run"]


def test_a_users_folder_is_refused(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "me.jpg").write_bytes(b"x")
    for kwargs in ({}, {"force_new": True}):
        with pytest.raises(UserError, match="not a latentlab run and not empty .*'me.jpg'"):
            claim_run(folder, **kwargs)
    assert os.listdir(folder) == ["me.jpg"]


def test_abandon_removes_only_what_the_claim_made(tmp_path):
    claim = claim_run(tmp_path / "runs" / "a")
    claim.abandon()
    assert not (tmp_path / "runs").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    claim_run(empty).abandon()
    assert empty.is_dir()


def test_resume_sweeps_temporaries_of_interrupted_writes(tmp_path):
    root = make_run(tmp_path / "run")
    stale = [root / "checkpoints" / ".latest.safetensors.a1b2c3d4.tmp", root / "samples" / ".step-00000010.xyz1.png",
             root / ".config.toml.q.tmp"]
    for path in stale:
        path.write_bytes(b"partial")
    keep = root / "checkpoints" / "step-00000003.safetensors"
    keep.write_bytes(b"whole")
    claim = claim_run(root, resume=True)
    claim.begin()
    claim.release()
    assert claim.swept == 3 and not any(p.exists() for p in stale) and keep.exists()


def test_without_flock_the_pid_and_host_decide(tmp_path, monkeypatch):
    import errno

    import latentlab.run.lock as L

    def no_flock(fd, op):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(L.fcntl, "flock", no_flock)
    root = tmp_path / "run"
    root.mkdir()
    (root / ".lock").write_text(json.dumps({"pid": 999999999, "host": socket.gethostname()}))
    RunLock(root).acquire().release()  # this host's dead process: taken over
    (root / ".lock").write_text(json.dumps({"pid": os.getppid(), "host": socket.gethostname()}))
    with pytest.raises(RunLocked, match=f"pid {os.getppid()}"):
        RunLock(root).acquire()  # a live process of this host
    (root / ".lock").write_text(json.dumps({"pid": 123, "host": "elsewhere.example"}))
    with pytest.raises(RunLocked, match="on elsewhere.example.*delete"):
        RunLock(root).acquire()


def test_the_writer_is_named_without_taking_the_lock_or_writing(tmp_path, holder):
    root = tmp_path / "run"
    root.mkdir()
    assert RunLock(root).writer() is None and not (root / ".lock").exists()  # no lock file: none made
    p = holder(root)
    before = (root / ".lock").read_text()
    assert f"pid {p.pid} on {socket.gethostname()}" in RunLock(root).writer()
    assert (root / ".lock").read_text() == before  # the holder's name is untouched
    p.stdin.close()
    p.wait(timeout=30)
    assert RunLock(root).writer() is None  # its process ended: nobody writes it
