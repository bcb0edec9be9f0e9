"""A run directory from the command line: one writer, never clobbered, never a user's folder, the
metrics log never holding a step twice, files with the umask's mode."""

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from latentlab.cli import main
from tests.run.helpers import snapshot
from tests.train.helpers import cli_args

ROOT = Path(__file__).resolve().parent.parent
HOLD = "import sys; from latentlab.run.lock import RunLock; RunLock(sys.argv[1]).acquire(); print('held', flush=True); " \
       "sys.stdin.read()"


def train(out, *extra, steps=6):
    return main(["train", *cli_args("dcgan", steps=steps), "--out", str(out), *extra])


def steps_logged(run):
    return [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture
def run(run_copy):
    return run_copy


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_an_existing_run_is_never_overwritten(run, capsys):
    before = snapshot(run)
    assert train(run, steps=3) == 2
    line = one_error_line(capsys)
    assert str(run) in line and "--resume" in line and "--force-new" in line
    assert snapshot(run) == before


def test_force_new_moves_the_old_run_aside(run, capsys):
    before = snapshot(run)
    assert train(run, "--force-new", steps=3) == 0
    aside = [p for p in run.parent.iterdir() if p.name.startswith("run.old-")]
    assert len(aside) == 1 and snapshot(aside[0]) == before
    assert steps_logged(run) == [1, 2, 3]


def test_a_folder_that_is_not_a_run_is_refused(tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    for extra in ((), ("--force-new",)):
        assert train(mine, *extra, steps=1) == 2
        assert "not a latentlab run and not empty" in one_error_line(capsys)
    assert snapshot(mine) == {"thesis.tex": (b"precious", snapshot(mine)["thesis.tex"][1])}


def test_a_second_writer_is_refused_naming_the_first(run, capsys):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(run)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    try:
        assert holder.stdout.readline().strip() == "held"
        before = snapshot(run)
        assert train(run, "--resume", steps=9) == 2
        assert f"pid {holder.pid}" in one_error_line(capsys)
        assert snapshot(run) == before
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert train(run, "--resume", steps=9) == 0  # the holder is gone: its lock with it
    assert steps_logged(run) == list(range(1, 10))


def test_resume_after_a_kill_logs_every_step_once_and_sweeps_temporaries(run):
    # As if killed at step 5: latest is step 3's checkpoint, the log ran on to 6, a write was cut short.
    shutil.copy(run / "checkpoints" / "step-00000003.safetensors", run / "checkpoints" / "latest.safetensors")
    stale = run / "checkpoints" / ".latest.safetensors.0badf00d.tmp"
    stale.write_bytes(b"half a checkpoint")
    assert train(run, "--resume", steps=8) == 0
    assert steps_logged(run) == list(range(1, 9))
    assert not stale.exists()
    events = [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]
    checkpoints = [e["step"] for e in events if e["kind"] == "checkpoint"]
    assert checkpoints == sorted(set(checkpoints))


def test_a_kill_before_the_first_checkpoint_restarts_on_resume(run, capsys):
    shutil.rmtree(run / "checkpoints")
    assert train(run, steps=4) == 2  # still a run: not silently overwritten
    capsys.readouterr()
    assert train(run, "--resume", steps=4) == 0
    assert steps_logged(run) == [1, 2, 3, 4]


def test_every_output_gets_the_umask_mode(tmp_path, umask_027):
    import torch
    from PIL import Image

    from tests.models.test_models_dcgan_import import ExampleNetG

    run = tmp_path / "run"
    assert main(["train", *cli_args("vaegan", steps=3), "--out", str(run)]) == 0
    ckpt = run / "checkpoints" / "latest.safetensors"
    grid, pairs, imported = tmp_path / "grid.png", tmp_path / "pairs.png", tmp_path / "imported.safetensors"
    assert main(["sample", str(ckpt), "--out", str(grid), "--n", "4"]) == 0
    Image.new("RGB", (40, 40), (200, 150, 120)).save(tmp_path / "face.png")
    assert main(["encode", str(ckpt), str(tmp_path / "face.png"), "--out", str(pairs)]) == 0
    torch.save(ExampleNetG(8, 4).state_dict(), tmp_path / "netG.pth")
    assert main(["import-dcgan", str(tmp_path / "netG.pth"), "--out", str(imported), "--nz", "8", "--ngf", "4"]) == 0
    assert main(["attributes", str(ckpt), "--data", "synthetic"]) == 0
    outputs = [p for p in run.rglob("*") if p.is_file()] + [grid, pairs, imported]
    assert any(p.name.endswith(".attributes.safetensors") for p in outputs)
    assert {p.suffix for p in outputs} >= {".toml", ".jsonl", ".png", ".safetensors", ""}  # "" is .lock
    assert any(p.name.startswith("recon-") for p in outputs)
    modes = {str(p.relative_to(tmp_path)): oct(stat.S_IMODE(p.stat().st_mode)) for p in outputs}
    assert set(modes.values()) == {"0o640"}, modes
    folders = {oct(stat.S_IMODE(p.stat().st_mode)) for p in [run, *run.rglob("*")] if p.is_dir()}
    assert folders == {"0o750"}
