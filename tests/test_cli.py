import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.train.helpers import cli_args

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args, cwd=None, timeout=240):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "latentlab", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)


def test_presets_lists_all():
    result = run_cli("presets")
    assert result.returncode == 0
    for name in ("dcgan", "torchgan2015", "vaegan", "tiny"):
        assert name in result.stdout


def test_train_then_sample(tmp_path):
    out = tmp_path / "run"
    result = run_cli("train", *cli_args("dcgan", steps=4), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 4
    grid = tmp_path / "grid.png"
    result = run_cli("sample", str(out / "checkpoints" / "latest.safetensors"), "--out", str(grid), "--n", "9",
                     "--seed", "1", "--truncation", "0.7")
    assert result.returncode == 0, result.stderr
    from PIL import Image

    image = Image.open(grid)
    assert image.size == (3 * 32 + 4 * 2, 3 * 32 + 4 * 2)


def test_resume_via_cli_continues_to_total(tmp_path):
    out = tmp_path / "run"
    assert run_cli("train", *cli_args("dcgan", steps=2), "--out", str(out)).returncode == 0
    result = run_cli("train", "--resume", "--out", str(out), "--steps", "4", "--set", "lr_d=5e-4")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == [1, 2, 3, 4]
    # The changed learning rate is applied (not the checkpoint's), and said so.
    assert [row["lr_d"] for row in rows[2:]] == [5e-4, 5e-4]
    assert "[setting] lr_d set to 0.0005 on resume (the checkpoint's run had 0.0001)" in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["train", "--preset", "nope"], "unknown preset 'nope'; available:"),
        (["train", "--preset", "tiny", "--set", "bogus=1"], "unknown key; allowed:"),
        (["train", "--preset", "tiny", "--set", "lr_d=abc"], "train.lr_d must be float"),
        (["train", "--preset", "tiny", "--data", "/no/such/folder", "--steps", "1"], "/no/such/folder"),
        (["train", "--preset", "tiny", "--steps", "0"], "--steps: must be a whole number 1 to"),
        (["sample", "/no/such.safetensors", "--out", "x.png"], "no such checkpoint"),
    ],
)
def test_bad_input_is_one_line_exit_2(tmp_path, monkeypatch, capsys, args, message):
    from latentlab.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()  # nothing half-made


def test_empty_folder_is_an_error_before_training(tmp_path, capsys):
    from latentlab.cli import main

    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("no images here")
    rc = main(["train", "--preset", "tiny", "--data", str(empty), "--out", str(tmp_path / "run"), "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2
    assert str(empty) in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()


def test_cli_never_imports_qt(tmp_path):
    code = ("import sys; from latentlab.cli import main; "
            f"rc = main({['train', *cli_args('dcgan', steps=1), '--out', str(tmp_path / 'r')]!r}); "
            "assert rc == 0, rc; "
            "assert not [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph'))], 'Qt imported'")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=240)
    assert result.returncode == 0, result.stderr
