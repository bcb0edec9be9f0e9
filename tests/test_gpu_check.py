"""scripts/gpu_check.sh: its arguments and the demo's ship rule. The whole rehearsal
(`scripts/gpu_check.sh --quick --device cpu`, a minute or two) is its own CI step in .ci/run."""

import subprocess
from pathlib import Path

import pytest

from devtools.gpu import check as gpu_check

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "gpu_check.sh"


@pytest.mark.parametrize("args, message", [(["--device", "tpu"], "--device must be cuda or cpu"),
                                           (["--fast"], "unknown argument --fast")])
def test_bad_arguments_are_one_line(args, message):
    result = subprocess.run(["bash", SCRIPT, *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and message in result.stderr and len(result.stderr.splitlines()) == 1


def test_help_names_every_option():
    result = subprocess.run(["bash", SCRIPT, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert all(option in result.stdout for option in ("--quick", "--device", "--out"))


def test_a_folder_holding_other_files_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    assert gpu_check.main(["--quick", "--device", "cpu", "--out", str(tmp_path)]) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_the_ship_rule():
    ship_verdict = gpu_check.ship_verdict
    good = {"face_rate_inputs": 0.70, "face_rate_samples": 0.66, "mae": 11.0 / 255, "hf_ratio": 0.95}
    assert ship_verdict(good, 10 << 20)[0]
    for change in ({"face_rate_samples": 0.64}, {"mae": 12.5 / 255}, {"hf_ratio": 0.75}, {"hf_ratio": 1.25}):
        ship, rules = ship_verdict({**good, **change}, 10 << 20)
        assert not ship and list(rules.values()).count(False) == 1
    assert not ship_verdict(good, 16 << 20)[0]
