"""checkpoints/best.safetensors follows the best quality figure, across a resume."""

import json
import os

import pytest

from latentlab.run.checkpoint import load_model, read_checkpoint
from latentlab.train.engine import Trainer
from tests.train.helpers import tiny_config

pytestmark = pytest.mark.timeout(120)


def quality(out):
    rows = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    return {r["step"]: r["data"]["fd_random"] for r in rows if r["kind"] == "quality"}


def best_step(out):
    q = quality(out)
    return min(q, key=lambda s: (q[s], s))


def test_best_checkpoint_is_the_best_step_and_survives_a_resume(tmp_path):
    out = tmp_path / "run"
    kw = {"cache_dir": tmp_path, "quality_every": 2, "quality_n": 8, "checkpoint_every": 100, "sample_every": 100}
    first = Trainer(tiny_config("dcgan", steps=6, **kw), out)
    list(first.run())
    best = out / "checkpoints" / "best.safetensors"
    q = quality(out)
    assert sorted(q) == [2, 4, 6] and len(set(q.values())) == 3
    step = best_step(out)
    assert read_checkpoint(best)[1]["step"] == step
    assert os.path.samefile(best, out / "checkpoints" / f"step-{step:08d}.safetensors")
    assert first.best == {"step": step, "fd_random": q[step]}

    resumed = Trainer(tiny_config("dcgan", steps=12, **kw), out, resume=True)
    resumed.setup()
    assert resumed.best == first.best  # the best so far is part of the resumed state
    list(resumed.run())
    q = quality(out)
    assert sorted(q) == [2, 4, 6, 8, 10, 12]
    step = best_step(out)
    assert read_checkpoint(best)[1]["step"] == step
    assert load_model(best).step == step
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    pinned = [e["step"] for e in events if e["kind"] == "best"]
    assert pinned[-1] == step and pinned == sorted(pinned)


def test_sample_cli_reads_the_best_checkpoint(tmp_path):
    from latentlab.cli import main

    out = tmp_path / "run"
    list(Trainer(tiny_config("dcgan", steps=2, cache_dir=tmp_path, quality_every=2, quality_n=8), out).run())
    assert main(["sample", str(out / "checkpoints" / "best.safetensors"), "--out", str(tmp_path / "g.png"),
                 "--n", "4"]) == 0
    assert (tmp_path / "g.png").stat().st_size > 0
