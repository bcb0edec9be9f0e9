"""Every failure the command line can meet is one line on stderr and exit code 2 (141 for a reader
that went away), with the run directory and every output left whole."""

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from latentlab.cli import main
from tests.run.helpers import closed_pipe, rewrite_checkpoint, snapshot
from tests.train.helpers import cli_args

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args, **kwargs):
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run([sys.executable, "-m", "latentlab", *map(str, args)], env=env, timeout=240, check=False, **kwargs)


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def trained(tiny_cli_run):
    return tiny_cli_run


@pytest.fixture
def ckpt(tiny_cli_run):
    return tiny_cli_run / "checkpoints" / "latest.safetensors"


# -- a full disk, an unwritable output ------------------------------------------------------------
def _file_size_limit(limit):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_a_disk_that_fills_up_is_one_line_and_leaves_whole_files(trained, tmp_path):
    sizes = {p.name: p.stat().st_size for p in trained.rglob("*") if p.is_file()}
    checkpoint = sizes["latest.safetensors"]
    others = max(v for k, v in sizes.items() if not k.endswith(".safetensors"))
    assert others * 4 < checkpoint
    out = tmp_path / "new"
    result = run_cli("train", *cli_args("dcgan", steps=3), "--out", out, capture_output=True, text=True,
                     preexec_fn=_file_size_limit(checkpoint // 2))
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"latentlab: error: {out / 'checkpoints'}") and "File too large" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    assert not list((out / "checkpoints").iterdir())


def test_an_unwritable_output_is_one_line(ckpt, capsys):
    assert main(["walk", str(ckpt), "--out", "/sys/w.mp4", "--keyframes", "2", "--frames", "2"]) == 2
    line = one_error_line(capsys)
    assert "/sys" in line
    assert not os.path.exists("/sys/w.mp4")


# -- checkpoints whose metadata is damaged ---------------------------------------------------------
@pytest.mark.parametrize("value", ["abc", "1e400", "-3", "12.5"])
def test_a_step_that_is_not_a_whole_number_is_refused(ckpt, tmp_path, capsys, value):
    bad = rewrite_checkpoint(ckpt, tmp_path / "bad.safetensors", meta={"step": value})
    assert main(["sample", str(bad), "--out", str(tmp_path / "g.png")]) == 2
    line = one_error_line(capsys)
    assert str(bad) in line and "'step'" in line and value in line
    assert not (tmp_path / "g.png").exists()


@pytest.mark.parametrize("damage, named", [
    ({"drop_meta": ["optimizers"]}, "'optimizers'"),
    ({"drop_meta": ["rules"]}, "'rules'"),
    ({"drop_tensors": ["rng.cpu"]}, "'rng.cpu'"),
    ({"meta": {"rules": {"balance": {}, "l2": {}}}}, "'sched'"),
    ({"tensors": {"optim.D.0.exp_avg": torch.zeros(3, 3)}}, "optim.D.0.exp_avg has shape (3, 3)"),
])
def test_resume_from_a_checkpoint_missing_its_training_state_is_refused(run_copy, capsys, damage, named):
    latest = run_copy / "checkpoints" / "latest.safetensors"
    rewrite_checkpoint(latest, latest, **damage)
    before = snapshot(run_copy)
    assert main(["train", "--resume", "--out", str(run_copy), "--steps", "9", "--quiet"]) == 2
    line = one_error_line(capsys)
    assert str(latest) in line and named in line
    assert snapshot(run_copy) == before


@pytest.mark.parametrize("key, value", [("latent_dim", 1_000_000_000), ("g_width", 3000)])
def test_an_absurd_embedded_config_is_refused_before_building_the_model(ckpt, tmp_path, capsys, key, value):
    _, meta = __import__("latentlab.run.checkpoint", fromlist=["read_checkpoint"]).read_checkpoint(ckpt)
    config = meta["config"].replace(f"\n{key} = ", f"\n{key} = {value}\n#", 1)
    bad = rewrite_checkpoint(ckpt, tmp_path / "bad.safetensors", meta={"config": config})
    assert main(["sample", str(bad), "--out", str(tmp_path / "g.png")]) == 2
    line = one_error_line(capsys)  # its range (bounds.py), or else the tensors' shapes, refuse it
    assert f"model.{key} must be" in line and str(value) in line


def test_nan_weights_are_refused_naming_the_ema_tensor(ckpt, tmp_path, capsys):
    from safetensors import safe_open

    with safe_open(str(ckpt), "pt") as f:
        key = next(k for k in f.keys() if k.startswith("G_ema.") and k.endswith("weight"))  # noqa: SIM118
        weight = f.get_tensor(key)
    bad = rewrite_checkpoint(ckpt, tmp_path / "nan.safetensors", tensors={key: torch.full_like(weight, float("nan"))})
    assert main(["sample", str(bad), "--out", str(tmp_path / "g.png")]) == 2
    assert f"{key} holds NaN" in one_error_line(capsys)
    wrong = rewrite_checkpoint(ckpt, tmp_path / "shape.safetensors", tensors={key: torch.zeros(2, 2)})
    assert main(["sample", str(wrong), "--out", str(tmp_path / "g.png")]) == 2
    assert f"{key} has shape (2, 2)" in one_error_line(capsys)


# -- sizes bounded before any work ----------------------------------------------------------------
@pytest.mark.parametrize("args, limit", [
    (["walk", "CKPT", "--out", "w.mp4", "--keyframes", "100000000"], "--keyframes: must be a whole number 1 to 10000"),
    (["walk", "CKPT", "--out", "w.mp4", "--grid", "100x100"], "--grid: must be RxC walks, each 1 to 64, at most 64 in all"),
    (["encode", "CKPT", "face.png", "--out", "p.png", "--size", "100000"], "--size: must be a whole number 1 to 1024"),
    (["sample", "CKPT", "--out", "g.png", "--n", "100000000"], "--n: must be a whole number 1 to 1024"),
])
def test_sizes_are_bounded_before_anything_is_loaded(tmp_path, monkeypatch, capsys, args, limit):
    monkeypatch.chdir(tmp_path)
    assert main([a.replace("CKPT", "missing.safetensors") for a in args]) == 2
    line = one_error_line(capsys)
    assert limit in line and "missing.safetensors" not in line
    assert os.listdir(tmp_path) == []


# -- readers that go away -------------------------------------------------------------------------
@pytest.mark.parametrize("args", [["presets"], ["attributes", "CKPT"], ["--version"], ["walk", "--help"]])
def test_a_closed_stdout_ends_quietly(ckpt, args):
    pipe = closed_pipe()
    try:
        result = run_cli(*[str(ckpt) if a == "CKPT" else a for a in args], stdout=pipe, stderr=subprocess.PIPE)
    finally:
        os.close(pipe)
    assert result.returncode == 141 and result.stderr == b""


def test_training_outlives_the_reader_of_its_progress(tmp_path):
    out = tmp_path / "run"
    pipe = closed_pipe()
    try:
        args = [a for a in cli_args("dcgan", steps=4) if a != "--quiet"]
        result = run_cli("train", *args, "--out", out, stdout=subprocess.DEVNULL, stderr=pipe)
    finally:
        os.close(pipe)
    assert result.returncode == 0
    assert [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()] == [1, 2, 3, 4]


# -- training inputs ------------------------------------------------------------------------------
def test_empty_data_is_an_error(tmp_path, capsys):
    assert main(["train", "--preset", "tiny", "--data", "", "--out", str(tmp_path / "r")]) == 2
    assert "--data is empty" in one_error_line(capsys)
    assert not (tmp_path / "r").exists()


def test_fewer_than_one_batch_says_how_many_were_held_out(tmp_path, capsys):
    args = cli_args("dcgan", steps=1) + ["--set", "synthetic_count=10", "--set", "holdout=3"]
    assert main(["train", *args, "--out", str(tmp_path / "r")]) == 2
    line = one_error_line(capsys)
    assert "7 training images (10 in all, 3 held out for validation), fewer than one batch of 8" in line
    assert not (tmp_path / "r").exists()


def test_skipped_files_are_listed_by_reason(tmp_path, capsys):
    from PIL import Image

    data = tmp_path / "faces"
    data.mkdir()
    for i in range(10):
        Image.new("RGB", (40, 40), (20 * i, 100, 150)).save(data / f"face{i}.png")
    (data / "notes.jpg").write_text("not an image")
    (data / "tiny.png").write_bytes(b"")
    Image.new("RGB", (2, 2)).save(data / "dot.png")
    args = [a for a in cli_args("dcgan", steps=1) if a not in ("--quiet",)]
    args[args.index("synthetic") if "synthetic" in args else 0] = str(data)
    assert main(["train", *args, "--batch", "4", "--set", "holdout=2", "--out", str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err
    line = next(line for line in err.splitlines() if "unreadable files skipped" in line)
    assert "3 unreadable files skipped" in line and "too small 1" in line and "not an image" in line
    assert "dot.png: too small (2x2)" in line
