"""What a hostile user tried and the command line now answers in one line (issue 26): closed and full
standard streams, outputs that cannot be written, photos boxes outside the photo, damaged weights,
overwrites, background threads; each leaves nothing half-written and the run folder as it was."""

import os
import resource
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors import safe_open

from latentlab.cli import main
from tests.run.helpers import rewrite_checkpoint, snapshot

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args, preexec_fn=None, **kwargs):
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1")
    kwargs.setdefault("stdout", subprocess.PIPE)
    kwargs.setdefault("stderr", subprocess.PIPE)
    return subprocess.run([sys.executable, "-m", "latentlab", *map(str, args)], env=env, timeout=240, check=False,
                          text=True, preexec_fn=preexec_fn, **kwargs)


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in text, text
    return lines[0]


def one_error_line(capsys) -> str:
    return one_line(capsys.readouterr().err)


def _close(fd):
    return lambda: os.close(fd)


def _file_size_limit(limit):
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


@pytest.fixture
def ckpt(tiny_cli_run):
    return tiny_cli_run / "checkpoints" / "latest.safetensors"


@pytest.fixture(scope="module")
def photo(tmp_path_factory):
    path = tmp_path_factory.mktemp("photo") / "face.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (200, 160, 3), dtype=np.uint8)).save(path)
    return path


# -- standard streams --------------------------------------------------------------------------------
def test_a_closed_stdout_fails_a_command_with_output_and_spares_one_without(ckpt, tmp_path):
    listing = run_cli("presets", preexec_fn=_close(1))
    assert listing.returncode == 2 and "standard output" in one_line(listing.stderr)
    grid = tmp_path / "g.png"
    sample = run_cli("sample", ckpt, "--out", grid, "--n", "2", preexec_fn=_close(1))
    assert sample.returncode == 0, sample.stderr
    assert "Traceback" not in sample.stderr and Image.open(grid).size[0] > 0


@pytest.mark.parametrize("args", [["--version"], ["presets"], ["sample", "--help"]])
def test_output_into_a_full_device_is_exit_2_naming_standard_output(args):
    with open("/dev/full", "w") as full:
        result = run_cli(*args, stdout=full)
    assert result.returncode == 2
    assert one_line(result.stderr) == "latentlab: error: standard output: No space left on device"


def test_training_with_stderr_closed_trains_to_the_end(tmp_path):
    from tests.train.helpers import cli_args

    out = tmp_path / "run"
    args = [a for a in cli_args("dcgan", steps=3) if a != "--quiet"]
    first = run_cli("train", *args, "--out", out, preexec_fn=_close(2), stderr=None)
    assert first.returncode == 0
    assert (out / "checkpoints" / "step-00000003.safetensors").is_file()
    assert '"kind":"done"' in (out / "events.jsonl").read_text().splitlines()[-1]


# -- background threads -------------------------------------------------------------------------------
def test_no_thread_traceback_after_the_exit_code_is_chosen(monkeypatch, capsys):
    from latentlab import cli

    monkeypatch.setattr(threading, "excepthook", threading.__excepthook__)  # Python's own: prints a traceback
    release = threading.Event()

    def late_failure():
        release.wait(10)
        raise RuntimeError("Signal source has been deleted")

    def command(args):
        threading.Thread(target=late_failure, name="late").start()
        print("done")
        return 0

    monkeypatch.setitem(cli.COMMANDS, "presets", command)
    assert main(["presets"]) == 0
    release.set()
    next(t for t in threading.enumerate() if t.name == "late").join(10)
    captured = capsys.readouterr()
    assert captured.out == "done\n" and captured.err == ""


def test_a_thread_that_fails_while_the_command_runs_is_one_line(monkeypatch, capsys):
    from latentlab import cli

    def command(args):
        def fail():
            raise OSError(28, "No space left on device", "RUN/tb/events")
        thread = threading.Thread(target=fail)
        thread.start()
        thread.join()
        return 0

    monkeypatch.setattr(threading, "excepthook", threading.__excepthook__)
    monkeypatch.setitem(cli.COMMANDS, "presets", command)
    assert main(["presets"]) == 2
    assert one_error_line(capsys) == "latentlab: error: RUN/tb/events: No space left on device"


def test_tensorboard_on_a_full_disk_is_one_line_naming_run_tb(run_copy):
    pytest.importorskip("torch.utils.tensorboard")
    shutil.rmtree(run_copy / "tb", ignore_errors=True)
    before = snapshot(run_copy)
    result = run_cli("tensorboard", run_copy, preexec_fn=_file_size_limit(64))
    assert result.returncode == 2
    assert one_line(result.stderr) == f"latentlab: error: {run_copy / 'tb'}: File too large"
    assert snapshot(run_copy) == before


# -- outputs checked before any work ------------------------------------------------------------------
def test_gui_screenshot_refusals_come_before_the_window(ckpt, tmp_path, capsys):
    assert main(["gui", str(ckpt), "--screenshot", str(tmp_path / "g.txt")]) == 2
    assert "name a .png file" in one_error_line(capsys)
    assert main(["gui", str(ckpt), "--screenshot", "/proc/g.png"]) == 2
    assert one_error_line(capsys).startswith("latentlab: error: --screenshot /proc/g.png: cannot write there (")
    with safe_open(str(ckpt), "pt") as f:
        key = next(k for k in f.keys() if k.startswith("G_ema.") and k.endswith("weight"))  # noqa: SIM118
        weight = f.get_tensor(key)
    bad = rewrite_checkpoint(ckpt, tmp_path / "nan.safetensors", tensors={key: torch.full_like(weight, float("nan"))})
    assert main(["gui", str(bad), "--screenshot", str(tmp_path / "g.png")]) == 2
    assert f"{key} holds NaN" in one_error_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nan.safetensors"]


def test_project_writes_nothing_when_one_output_cannot_be_written(ckpt, photo, tmp_path, capsys):
    rows = tmp_path / "rows.png"
    assert main(["project", str(ckpt), str(photo), "--out", str(rows), "--latents", "/proc/l.json",
                 "--box", "10,10,100,100", "--steps", "2"]) == 2
    assert one_error_line(capsys).startswith("latentlab: error: --latents /proc/l.json: cannot write there")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("box", ["5000,5000,10,10", "-500,0,100,100", "0,300,50,50"])
def test_a_box_outside_the_photo_is_refused(photo, tmp_path, capsys, box):
    out = tmp_path / "aligned"
    assert main(["align", str(photo), "--out", str(out), f"--box={box}"]) == 2
    line = one_error_line(capsys)
    assert f"--box {box} lies outside the photo (160x200 px)" in line
    assert not out.exists()


def test_a_box_overlapping_the_photo_still_aligns(photo, tmp_path, capsys):
    out = tmp_path / "aligned"
    assert main(["align", str(photo), "--out", str(out), "--box", "150,190,100,100"]) == 0
    assert (out / "face.png").is_file()


def test_walk_into_a_file_given_as_a_folder_is_refused_before_rendering(ckpt, tmp_path, capsys):
    taken = tmp_path / "notes"
    taken.write_text("mine")
    assert main(["walk", str(ckpt), "--out", f"{taken}/", "--frames", "2"]) == 2
    line = one_error_line(capsys)
    assert "notes: a file, not a folder" in line and ".part" not in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes"] and taken.read_text() == "mine"


def test_a_walk_of_too_many_frames_is_refused_before_loading(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["walk", "missing.safetensors", "--out", "w.mp4", "--keyframes", "10000", "--frames", "100000"]) == 2
    line = one_error_line(capsys)
    assert "--frames 100000" in line and "at most 1000000" in line and "missing" not in line
    assert main(["walk", "missing.safetensors", "--out", "w.mp4", "--seeds", "1,2", "--frames", "100000", "--loop"]) == 2
    assert "no such checkpoint" in one_error_line(capsys)  # 200,000 frames is allowed: the file is next


@pytest.mark.parametrize("out", ["w.mp4", "frames/"])
def test_a_full_disk_during_a_walk_names_out_not_a_hidden_file(ckpt, tmp_path, out):
    dest = tmp_path / out
    result = run_cli("walk", ckpt, "--out", dest, "--frames", "8", "--size", "512", cwd=tmp_path,
                     preexec_fn=_file_size_limit(2_000))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == f"latentlab: error: {str(dest).rstrip('/')}: File too large"
    assert list(tmp_path.iterdir()) == []


# -- checkpoints --------------------------------------------------------------------------------------
def test_import_dcgan_refuses_to_replace_a_file_without_force(tmp_path, capsys):
    from tests.models.test_models_dcgan_import import NGF, NZ, ExampleNetG

    netg = tmp_path / "netG.pth"
    torch.save(ExampleNetG(NZ, NGF).state_dict(), netg)
    out = tmp_path / "model.safetensors"
    out.write_bytes(b"precious")
    args = ["import-dcgan", str(netg), "--out", str(out), "--nz", str(NZ), "--ngf", str(NGF)]
    assert main(args) == 2
    assert "already exists" in one_error_line(capsys) and out.read_bytes() == b"precious"
    assert main([*args, "--force"]) == 0
    assert out.read_bytes() != b"precious"


def test_resume_without_the_optimizer_tensors_is_refused(run_copy, capsys):
    latest = run_copy / "checkpoints" / "latest.safetensors"
    with safe_open(str(latest), "pt") as f:
        optim = [k for k in f.keys() if k.startswith("optim.")]  # noqa: SIM118
    assert optim
    rewrite_checkpoint(latest, latest, drop_tensors=optim)
    before = snapshot(run_copy)
    assert main(["train", "--resume", "--out", str(run_copy), "--steps", "9", "--quiet"]) == 2
    line = one_error_line(capsys)
    assert str(latest) in line and "has no optim." in line and "(the optimizer's state)" in line
    assert snapshot(run_copy) == before


@pytest.mark.parametrize("net", ["G", "D"])
def test_resume_from_infinite_weights_is_refused_naming_the_tensor(run_copy, capsys, net):
    latest = run_copy / "checkpoints" / "latest.safetensors"
    key = f"{net}.main.0.weight"
    with safe_open(str(latest), "pt") as f:
        weight = f.get_tensor(key)
    rewrite_checkpoint(latest, latest, tensors={key: torch.full_like(weight, float("inf"))})
    before = snapshot(run_copy)
    assert main(["train", "--resume", "--out", str(run_copy), "--steps", "9", "--quiet"]) == 2
    assert f"{key} holds NaN or infinite values" in one_error_line(capsys)
    assert snapshot(run_copy) == before


def test_integer_weights_are_refused_naming_the_tensor(ckpt, tmp_path, capsys):
    with safe_open(str(ckpt), "pt") as f:
        ints = {k: f.get_tensor(k).to(torch.int32) for k in f.keys() if k.startswith(("G.", "G_ema."))}  # noqa: SIM118
    bad = rewrite_checkpoint(ckpt, tmp_path / "int.safetensors", tensors=ints)
    assert main(["sample", str(bad), "--out", str(tmp_path / "g.png")]) == 2
    assert "holds int32 values, the model expects floating-point weights" in one_error_line(capsys)
    assert not (tmp_path / "g.png").exists()


def test_a_seed_beyond_64_bits_is_one_line_from_a_shell(ckpt, tmp_path):
    result = run_cli("sample", ckpt, "--out", tmp_path / "g.png", "--seed", "99999999999999999999999")
    assert result.returncode == 2
    assert "argument --seed: must be a whole number 0 to 2147483647" in one_line(result.stderr)
    assert list(tmp_path.iterdir()) == []
