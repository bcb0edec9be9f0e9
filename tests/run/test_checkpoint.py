import os
import pickle
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import save_file

from latentlab.config import UserError
from latentlab.run.checkpoint import load_model, read_checkpoint, save_checkpoint


def test_roundtrip(tmp_path):
    path = save_checkpoint(tmp_path / "c.safetensors", {"G.w": torch.arange(6.0).view(2, 3)},
                           {"step": 7, "rules": {"a": 1}})
    tensors, meta = read_checkpoint(path)
    assert torch.equal(tensors["G.w"], torch.arange(6.0).view(2, 3))
    assert meta["step"] == 7 and meta["rules"] == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["c.safetensors"]  # no temporary left behind


def test_truncated_file_is_refused(tmp_path):
    path = save_checkpoint(tmp_path / "c.safetensors", {"G.w": torch.zeros(1000)}, {"step": 1})
    data = path.read_bytes()
    cut = tmp_path / "cut.safetensors"
    cut.write_bytes(data[: len(data) - 100])
    with pytest.raises(UserError, match="truncated checkpoint"):
        read_checkpoint(cut)


def test_pickle_is_refused_and_never_executed(tmp_path):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = tmp_path / "evil.pth"
    path.write_bytes(pickle.dumps({"state": Evil()}))
    with pytest.raises(UserError, match="not a latentlab checkpoint"):
        load_model(path)
    assert not marker.exists()


def test_foreign_safetensors_is_refused(tmp_path):
    path = tmp_path / "foreign.safetensors"
    save_file({"w": torch.zeros(3)}, str(path))
    with pytest.raises(UserError, match="not a latentlab checkpoint"):
        read_checkpoint(path)


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match="no such checkpoint"):
        read_checkpoint(tmp_path / "nope.safetensors")


WRITER = """
import sys, torch
from latentlab.run.checkpoint import save_checkpoint
path = sys.argv[1]
i = 0
while True:
    i += 1
    save_checkpoint(path, {"G.w": torch.full((4_000_000,), float(i))}, {"step": i})
    print(i, flush=True)
"""


def test_sigkill_during_write_leaves_previous_checkpoint_loadable(tmp_path):
    path = tmp_path / "latest.safetensors"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "1"  # one complete checkpoint exists
        time.sleep(0.15)  # now, most likely, in the middle of a later write
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    tensors, meta = read_checkpoint(path)
    assert meta["step"] >= 1
    assert torch.all(tensors["G.w"] == float(meta["step"]))
