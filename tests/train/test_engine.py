import json

import pytest
import torch

from latentlab.config import load_toml
from latentlab.run.checkpoint import read_checkpoint, split_prefix
from latentlab.run.control import Control, Event, StepStats
from latentlab.train.engine import Trainer
from tests.train.helpers import tiny_config

VOLATILE = ("time", "img_per_s")


def run_all(cfg, out, **kw):
    trainer = Trainer(cfg, out, **kw)
    items = list(trainer.run())
    return trainer, items


def metrics(out):
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in row.items() if k not in VOLATILE} for row in rows]


def test_run_directory_contract(tmp_path):
    out = tmp_path / "run"
    trainer, items = run_all(tiny_config("dcgan", steps=6, cache_dir=tmp_path), out)
    stats = [i for i in items if isinstance(i, StepStats)]
    assert [s.step for s in stats] == [1, 2, 3, 4, 5, 6]
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    required = {"step", "epoch", "time", "real", "fake", "gen", "d_updated", "g_updated", "l2_d", "lr_d",
                "lr_g", "img_per_s"}
    assert len(rows) == 6 and required <= set(rows[0])
    assert all(0 < r["real"] < 20 and 0 < r["fake"] < 20 and 0 < r["gen"] < 20 for r in rows)
    assert sorted(p.name for p in (out / "samples").glob("step-*.png")) == ["step-00000003.png", "step-00000006.png"]
    assert (out / "checkpoints" / "step-00000006.safetensors").is_file()
    assert (out / "checkpoints" / "latest.safetensors").is_file()
    assert (out / "config.toml").read_text().startswith('name = "tiny"')
    kinds = [json.loads(line)["kind"] for line in (out / "events.jsonl").read_text().splitlines()]
    assert kinds[0] == "info" and "checkpoint" in kinds and kinds[-1] == "done"
    tensors, meta = read_checkpoint(out / "checkpoints" / "latest.safetensors")
    assert meta["step"] == 6 and {"G_ema.", "G.", "D."} <= {k.split(".")[0] + "." for k in tensors}


@pytest.mark.parametrize("arch", ["dcgan", "torchgan2015", "vaegan"])
def test_exact_resume(tmp_path, arch):
    straight, split = tmp_path / "straight", tmp_path / "split"
    cfg = tiny_config(arch, steps=6, cache_dir=tmp_path, checkpoint_every=100)
    a, _ = run_all(cfg, straight)
    half = tiny_config(arch, steps=3, cache_dir=tmp_path, checkpoint_every=100)
    run_all(half, split)
    b, _ = run_all(cfg, split, resume=True)
    assert metrics(straight) == metrics(split)
    for name in a.nets:
        for (k, va), vb in zip(a.nets[name].state_dict().items(), b.nets[name].state_dict().values()):
            assert torch.equal(va, vb), f"{name}.{k} differs after resume"


def test_2015_rules_run_and_are_logged(tmp_path):
    cfg = tiny_config("torchgan2015", steps=4, cache_dir=tmp_path, margin=0.45, l2_step=1e-3)
    trainer, items = run_all(cfg, tmp_path / "run")
    stats = [i for i in items if isinstance(i, StepStats)]
    # warm-up: lr/50 during the first 10 updates
    assert stats[0].lr_d == pytest.approx(1e-3 / 50)
    for s in stats:
        expected_d = not (s.real < 0.45 or s.fake < 0.45)
        expected_g = not (s.real > 0.55 or s.fake > 0.55)
        if not expected_d and not expected_g:
            expected_d = expected_g = True
        assert (s.d_updated, s.g_updated) == (expected_d, expected_g)


def test_nan_loss_stops_before_the_update(tmp_path, monkeypatch):
    out = tmp_path / "run"
    cfg = tiny_config("dcgan", steps=6, cache_dir=tmp_path, checkpoint_every=2)
    trainer = Trainer(cfg, out)
    for _ in trainer.setup():
        pass
    real_get = trainer.feeder.get

    def poisoned(step):
        x = real_get(step)
        return x * float("nan") if step == 3 else x

    monkeypatch.setattr(trainer.feeder, "get", poisoned)
    seen = []
    before = None
    for item in trainer.run():
        seen.append(item)
        if isinstance(item, StepStats) and item.step == 3:
            before = {k: v.clone() for k, v in trainer.nets["D"].state_dict().items()}
    alerts = [i for i in seen if isinstance(i, Event) and i.kind == "alert"]
    assert alerts and alerts[-1].data["kind"] == "nan"
    assert trainer.step == 3 and trainer.control.paused
    for k, v in trainer.nets["D"].state_dict().items():
        assert torch.equal(v, before[k]), f"D.{k} changed by the NaN step"
    _, meta = read_checkpoint(out / "checkpoints" / "latest.safetensors")
    assert meta["step"] == 2


def test_control_pause_step_stop(tmp_path):
    """Paused, the engine asks its Control and is told to idle, and runs no step; Step runs exactly
    one; a live setting reaches it while paused; Stop ends the run with a checkpoint. The commands
    are given from inside the engine's own questions (a spy on next_action), so nothing depends on
    how fast the machine is."""
    control = Control()
    control.pause()
    trainer = Trainer(tiny_config("dcgan", steps=50, cache_dir=tmp_path), tmp_path / "run", control=control)
    got, answers = [], []
    ask = control.next_action

    def stepped():
        return [g.step for g in got if isinstance(g, StepStats)]

    def spy(timeout=0.1):
        action = ask(0.0)
        answers.append(action)
        idles = answers.count("idle")
        if action == "idle" and idles == 3:
            assert stepped() == [], "a step ran while paused"
            control.step_once()
        elif action == "idle" and idles == 6:
            assert stepped() == [1], "Step ran more or less than one step"
            control.set("margin", 0.2)
            control.stop()
        return action

    control.next_action = spy
    got.extend(trainer.run())
    assert answers == ["idle"] * 3 + ["step"] + ["idle"] * 3 + ["stop"]
    assert stepped() == [1]
    settings = [g for g in got if isinstance(g, Event) and g.kind == "setting"]
    assert settings and settings[0].data == {"key": "margin", "value": 0.2}
    _, meta = read_checkpoint(tmp_path / "run" / "checkpoints" / "latest.safetensors")
    assert meta["step"] == 1
    assert load_toml(tmp_path / "run" / "config.toml").train.margin == 0.2  # what a resume reads


def test_resume_applies_the_rule_settings_the_config_changes(tmp_path):
    """The checkpoint restores the rules' states (learning rates, margin, L2); settings the resuming
    config changes (`--resume --set lr_d=...`, the form's values) must replace them, not be dropped."""
    out = tmp_path / "run"
    run_all(tiny_config("dcgan", steps=3, cache_dir=tmp_path, checkpoint_every=100), out)
    unchanged, items = run_all(tiny_config("dcgan", steps=4, cache_dir=tmp_path, checkpoint_every=100), out,
                               resume=True)
    assert not [i for i in items if isinstance(i, Event) and i.kind == "setting"]
    changed = tiny_config("dcgan", steps=7, cache_dir=tmp_path, lr_d=1e-3, margin=0.25, l2_adaptive=True)
    trainer, items = run_all(changed, out, resume=True)
    settings = {i.data["key"]: i for i in items if isinstance(i, Event) and i.kind == "setting"}
    assert set(settings) == {"lr_d", "margin", "l2_adaptive"}
    assert settings["lr_d"].step == 4 and "on resume" in settings["lr_d"].message
    assert "(the checkpoint's run had 0.0001)" in settings["lr_d"].message
    assert [s.lr_d for s in items if isinstance(s, StepStats)] == [1e-3] * 3
    assert trainer.balance.margin == 0.25 and trainer.l2.enabled
    assert unchanged.sched["G"].base == trainer.sched["G"].base == 2e-4
    saved = load_toml(out / "config.toml").train
    assert (saved.lr_d, saved.margin, saved.l2_adaptive) == (1e-3, 0.25, True)


def test_ema_generator_is_saved(tmp_path):
    trainer, _ = run_all(tiny_config("dcgan", steps=3, cache_dir=tmp_path, ema=0.5), tmp_path / "run")
    tensors, _ = read_checkpoint(tmp_path / "run" / "checkpoints" / "latest.safetensors")
    ema, g = split_prefix(tensors, "G_ema"), split_prefix(tensors, "G")
    assert ema.keys() == g.keys()
    assert any(not torch.equal(ema[k], g[k]) for k in ema if ema[k].is_floating_point())
