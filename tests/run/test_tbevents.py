"""TensorBoard files of a run (RUN/tb), read back with TensorBoard's own reader."""

import json

import numpy as np
import pytest

from latentlab.run.control import Control
from latentlab.train.engine import Trainer
from tests.train.helpers import tiny_config

pytestmark = pytest.mark.timeout(120)


def read(tb):
    ea = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    acc = ea.EventAccumulator(str(tb), size_guidance={ea.SCALARS: 0, ea.IMAGES: 0, ea.TENSORS: 0})
    acc.Reload()
    return acc


def rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def check_matches_run(out):
    acc = read(out / "tb")
    metrics = rows(out / "metrics.jsonl")
    for key in ("real", "fake", "gen", "l2_d", "lr_d", "lr_g", "epoch", "time", "d_updated"):
        got = [(e.step, e.value) for e in acc.Scalars(f"metrics/{key}")]
        assert [s for s, _ in got] == [r["step"] for r in metrics], key
        np.testing.assert_allclose([v for _, v in got], [float(r[key]) for r in metrics], rtol=1e-6, err_msg=key)
    # the grids of the run's log (a grid an interrupted session wrote after its last checkpoint stays
    # on disk, but neither the resumed log nor TensorBoard counts it)
    grids = [r["path"].rsplit("/", 1)[-1] for r in rows(out / "events.jsonl") if r["kind"] == "sample"]
    images = acc.Images("samples")
    assert [f"step-{i.step:08d}.png" for i in images] == grids
    return acc


def test_training_writes_tensorboard_events_that_match_the_logs(tmp_path):
    out = tmp_path / "run"
    control = Control()
    control.set("margin", 0.25)  # a live setting change, logged as text
    cfg = tiny_config("dcgan", steps=6, cache_dir=tmp_path, quality_every=3, quality_n=8)
    list(Trainer(cfg, out, control=control).run())
    acc = check_matches_run(out)
    assert len(acc.Images("samples")) == 2
    assert [e.step for e in acc.Scalars("quality/fd_random")] == [3, 6]
    texts = acc.Tensors("settings/text_summary")
    assert len(texts) == 1 and b"margin" in texts[0].tensor_proto.string_val[0]


@pytest.mark.parametrize("writers_before", [None, 9])
def test_a_resume_leaves_one_point_per_step(tmp_path, monkeypatch, writers_before):
    if writers_before is not None:
        # The process has opened 9 event files: the first session's is `….9`, the resume's `….10`,
        # which sorts first when both are opened in the same second.
        efw = pytest.importorskip("tensorboard.summary.writer.event_file_writer")
        monkeypatch.setattr(efw._global_uid, "_value", writers_before)
    out = tmp_path / "run"
    cfg = tiny_config("dcgan", steps=5, cache_dir=tmp_path)
    first = Trainer(cfg, out)
    first._final_save = lambda: None  # as if killed after step 5: the last checkpoint is step 3
    list(first.run())
    assert len(rows(out / "metrics.jsonl")) == 5
    list(Trainer(tiny_config("dcgan", steps=9, cache_dir=tmp_path), out, resume=True).run())
    assert [r["step"] for r in rows(out / "metrics.jsonl")] == list(range(1, 10))
    check_matches_run(out)


def test_backfill_is_idempotent(tmp_path, capsys):
    import shutil

    from latentlab.cli import main

    out = tmp_path / "run"
    list(Trainer(tiny_config("dcgan", steps=6, cache_dir=tmp_path), out).run())
    live = read(out / "tb")
    shutil.rmtree(out / "tb")
    assert main(["tensorboard", str(out)]) == 0
    assert main(["tensorboard", str(out)]) == 0
    assert len(list((out / "tb").iterdir())) == 1
    assert not [p for p in out.iterdir() if p.name.startswith(".tb")]
    acc = check_matches_run(out)
    assert [e.value for e in acc.Scalars("metrics/gen")] == [e.value for e in live.Scalars("metrics/gen")]
    assert len(acc.Images("samples")) == len(live.Images("samples")) == 2
    assert main(["tensorboard", str(tmp_path / "nope")]) == 2
    assert "not a latentlab run directory" in capsys.readouterr().err


def test_without_tensorboard_training_is_unchanged(tmp_path, monkeypatch):
    from latentlab.run import tbevents

    monkeypatch.setattr(tbevents, "available", lambda: False)
    out = tmp_path / "run"
    list(Trainer(tiny_config("dcgan", steps=3, cache_dir=tmp_path), out).run())
    assert len(rows(out / "metrics.jsonl")) == 3 and not (out / "tb").exists()
