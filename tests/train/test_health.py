"""Health checks: the detectors on crafted samples and errors, and end to end in the engine (a real
collapse is caught within the documented delay and rolled back from; a healthy run raises nothing)."""

import json

import numpy as np
import pytest
import torch

from latentlab.config import apply_override, load_preset
from latentlab.data import open_source
from latentlab.run.checkpoint import read_checkpoint, split_prefix
from latentlab.run.control import Event, StepStats
from latentlab.train import health as H
from latentlab.train.engine import Trainer
from tests.train.helpers import tiny_config

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def faces():
    # the session's test cache (conftest): rendered once, shared with the engine runs below
    return open_source("synthetic", 32, crop="center", synthetic_count=200, holdout=16, progress=lambda *_: None)


def as_samples(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(images)).permute(0, 3, 1, 2).float() / 127.5 - 1


def stats(step, real=0.6, fake=0.6, gen=0.9):
    return StepStats(step, 0, 0.0, real, fake, gen, True, True, 0.0, 2e-4, 2e-4, 100.0)


def history(n, start=1, **errors):
    return [stats(s, **errors) for s in range(start, start + n)]


# -- detectors on crafted input -----------------------------------------------------------------------
def test_real_images_raise_nothing_and_arm_the_detector(faces):
    mon = H.HealthMonitor(None, faces)
    for i in range(4):
        assert mon.check(10 * (i + 1), as_samples(faces.images[16 * i: 16 * i + 64]), history(100)) == []
    assert mon.armed and 0.8 < mon.last["diversity"] < 1.25 and mon.last["duplicates"] == 0
    assert mon.healthy


def test_collapse_alerts_once_after_confirmation_and_again_after_recovery(faces):
    mon = H.HealthMonitor(None, faces)
    diverse = as_samples(faces.images[:64])
    same = as_samples(faces.images[[7] * 64]) + 0.01 * torch.randn(64, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    assert mon.check(10, diverse, []) == []
    # one image for every z: unmistakable, so the first check that sees it alerts (no confirmation)
    alerts = mon.check(20, same, [])
    assert [a.kind for a in alerts] == ["collapse"] and alerts[0].rollback and not mon.healthy
    assert alerts[0].data["diversity"] < 0.05 and alerts[0].data["duplicates"] >= H.SEVERE_DUP
    assert alerts[0].data["step"] == 20
    assert "same face" in alerts[0].message and "lr_g" in alerts[0].advice
    assert mon.check(30, same, []) == []  # still collapsed: no repeat
    assert mon.check(40, diverse, []) == [] and mon.healthy
    assert [a.kind for a in mon.check(50, same, [])] == ["collapse"]


def test_a_collapse_without_duplicates_waits_for_confirmation(faces):
    """Samples squeezed towards their mean: below the line but no near-duplicate pairs, the kind of
    reading that can flicker about the line; it alerts at the CONFIRM-th check."""
    mon = H.HealthMonitor(None, faces)
    diverse = as_samples(faces.images[:64])
    squeezed = diverse.mean(0, keepdim=True) + 0.12 * (diverse - diverse.mean(0, keepdim=True))
    assert mon.check(10, diverse, []) == []
    assert mon.check(20, squeezed, []) == [] and not mon.healthy  # below the line once: pending
    assert mon.last["diversity"] < H.COLLAPSE_RATIO and mon.last["duplicates"] < H.SEVERE_DUP
    alerts = mon.check(30, squeezed, [])
    assert [a.kind for a in alerts] == ["collapse"] and alerts[0].data["step"] == 30


def test_an_untrained_generator_does_not_count_as_collapse(faces):
    """A fresh DCGAN draws nearly the same image for every z; the detector waits until it is armed."""
    mon = H.HealthMonitor(None, faces)
    same = as_samples(faces.images[[3] * 64])
    assert all(mon.check(10 * i, same, []) == [] for i in range(1, 5))
    assert not mon.armed


def test_a_generator_that_never_varied_alerts_at_the_first_check_past_arm_steps(faces):
    """The VAE/GAN preset's collapse: one image for every z by step 300, first check at step 500. The
    detector was never armed by varied samples; at ARM_STEPS it arms anyway and alerts at once."""
    mon = H.HealthMonitor(None, faces)
    same = as_samples(faces.images[[3] * 64])
    assert mon.check(H.ARM_STEPS - 1, same, []) == []
    alerts = mon.check(H.ARM_STEPS, same, [])
    assert [a.kind for a in alerts] == ["collapse"] and alerts[0].rollback
    assert "never varied" in alerts[0].message


def test_quality_diversity_below_the_line_alerts_and_clears(faces):
    mon = H.HealthMonitor(None, faces)
    assert mon.check_quality(100, {"diversity": 0.1, "precision": 0.3, "recall": 0.2, "n": 256}) == []  # unarmed
    mon.check(200, as_samples(faces.images[:64]), [])  # varied samples arm it
    alerts = mon.check_quality(300, {"diversity": 0.13, "precision": 0.3, "recall": 0.2, "n": 256})
    assert [a.kind for a in alerts] == ["low_diversity"] and "13%" in alerts[0].message
    assert not alerts[0].rollback and alerts[0].data == {"diversity": 0.13, "step": 300}
    assert mon.check_quality(400, {"diversity": 0.25}) == []  # between the lines: still active, no repeat
    assert mon.check(450, as_samples(faces.images[64:128]), []) == []  # the sample check keeps it active
    assert "low_diversity" in mon.state_dict()["active"] and mon.healthy  # advice: main rank only
    assert mon.check_quality(500, {"diversity": 0.9}) == [] and "low_diversity" not in mon.state_dict()["active"]
    assert [a.kind for a in mon.check_quality(600, {"diversity": 0.1})] == ["low_diversity"]


def test_samples_unlike_the_data_are_reported_from_arm_steps(faces):
    """The probe of the old vaegan preset at step 500: precision 0, recall 0, diversity still 0.49."""
    mon = H.HealthMonitor(None, faces)
    early = {"diversity": 0.9, "precision": 0.0, "recall": 0.0}
    assert mon.check_quality(H.ARM_STEPS - 1, early) == []  # an untrained G draws nothing like the data
    alerts = mon.check_quality(H.ARM_STEPS, {"diversity": 0.49, "precision": 0.0, "recall": 0.0})
    assert [a.kind for a in alerts] == ["off_data"] and not alerts[0].rollback
    assert "precision 0.00 and recall 0.00" in alerts[0].message
    assert mon.check_quality(H.ARM_STEPS + 100, {"diversity": 0.5, "precision": 0.03, "recall": 0.0}) == []
    assert mon.check_quality(H.ARM_STEPS + 200, {"diversity": 0.5, "precision": 0.3, "recall": 0.2}) == []
    assert "off_data" not in mon.state_dict()["active"]


def test_rising_reconstruction_error_alerts_after_three_rises(faces):
    samples = as_samples(faces.images[:64])
    mon = H.HealthMonitor(None, faces)
    kinds = [[a.kind for a in mon.check(100 * i, samples, [], recon_error=e)]
             for i, e in enumerate([0.10, 0.08, 0.085, 0.09, 0.096, 0.12, 0.07], 1)]
    assert kinds == [[], [], [], [], ["recon_rising"], [], []], kinds
    mon = H.HealthMonitor(None, faces)
    assert mon.check(100, samples, [], recon_error=0.1) == []
    # rising three times but by less than RISE_TOTAL in all, or with a fall between: nothing
    for i, e in enumerate([0.08, 0.082, 0.0838, 0.0855, 0.084, 0.086, 0.088], 2):
        assert mon.check(100 * i, samples, [], recon_error=e) == []


def test_a_held_back_net_is_reported(faces):
    samples = as_samples(faces.images[:64])
    mon = H.HealthMonitor(None, faces)
    rows = [StepStats(s, 0, 0.0, 0.2, 0.7, 1.0, s % 10 == 0, True, 0.0, 3e-4, 3e-4, 100.0) for s in range(1, 101)]
    alerts = mon.check(100, samples, rows)
    assert [a.kind for a in alerts] == ["d_held"] and not alerts[0].rollback
    assert alerts[0].data == {"net": "D", "held": 0.9, "step": 100} and "2015 post" in alerts[0].advice
    assert not mon.healthy
    rows = [StepStats(s, 0, 0.0, 0.6, 0.6, 0.9, True, s % 2 == 0, 0.0, 3e-4, 3e-4, 100.0) for s in range(101, 201)]
    assert mon.check(200, samples, rows) == [] and mon.healthy  # G skipped on half of them: not "most"
    # a checkpoint written before the update flags were kept resumes with them counted as updated
    state = mon.state_dict()
    state["recent"] = [r[:4] for r in state["recent"]]
    mon.load_state_dict(state)
    assert mon.check(300, samples, []) == []

def test_partial_collapse_is_reported_as_duplicates(faces):
    mon = H.HealthMonitor(None, faces)
    mon.check(10, as_samples(faces.images[:64]), [])
    four = as_samples(faces.images[[0, 40, 80, 120] * 16])
    assert mon.check(20, four, []) == []
    alerts = mon.check(30, four, [])
    assert [a.kind for a in alerts] == ["duplicates"]
    assert alerts[0].data["diversity"] > H.COLLAPSE_RATIO and alerts[0].data["duplicates"] > 0.2


def test_saturation_and_gen_band_from_the_errors(faces):
    mon = H.HealthMonitor(None, faces)
    samples = as_samples(faces.images[:16])
    assert mon.check(100, samples, history(100)) == []
    alerts = mon.check(200, samples, history(100, start=101, real=0.01, fake=0.02, gen=9.0))
    assert [a.kind for a in alerts] == ["saturation"] and alerts[0].rollback
    assert alerts[0].data["gen"] == 9.0 and not mon.healthy
    mon.reset()
    alerts = mon.check(300, samples, history(100, start=201, real=0.3, fake=0.3, gen=3.6))
    assert [a.kind for a in alerts] == ["gen_band"] and not alerts[0].rollback and "D is winning" in alerts[0].message
    mon.reset()
    alerts = mon.check(400, samples, history(100, start=301, real=0.7, fake=4.0, gen=0.01))
    assert [a.kind for a in alerts] == ["gen_band"] and "stopped learning" in alerts[0].message
    # a short excursion is not "for long"
    mon.reset()
    short = history(70, start=401) + history(30, start=471, real=0.01, fake=0.01, gen=9.0)
    assert mon.check(500, samples, short) == []


def test_nan_samples(faces):
    mon = H.HealthMonitor(None, faces)
    bad = as_samples(faces.images[:8])
    bad[3, 0, 5, 5] = float("nan")
    assert [a.kind for a in mon.check(10, bad, [])] == ["nan_samples"]


def test_state_round_trips_through_json_and_resumes_the_same_alerts(faces):
    diverse = as_samples(faces.images[:64])
    # below the line without duplicates: the pending confirmation must survive the resume
    same = diverse.mean(0, keepdim=True) + 0.12 * (diverse - diverse.mean(0, keepdim=True))
    checks = [(10, diverse, history(30)), (20, same, history(10, 31, real=0.01, fake=0.01, gen=8.0)),
              (30, same, history(30, 41, real=0.01, fake=0.01, gen=8.0)),
              (40, same, history(60, 71, real=0.01, fake=0.01, gen=8.0))]
    straight = H.HealthMonitor(None, faces)
    expected = [[a.kind for a in straight.check(*c)] for c in checks]
    first = H.HealthMonitor(None, faces)
    got = [[a.kind for a in first.check(*c)] for c in checks[:2]]
    resumed = H.HealthMonitor(None, faces)
    resumed.load_state_dict(json.loads(json.dumps(first.state_dict())))
    got += [[a.kind for a in resumed.check(c[0], c[1], c[2])] for c in checks[2:]]
    assert got == expected == [[], [], ["collapse"], ["saturation"]]


# -- end to end in the engine -----------------------------------------------------------------------
def health_config(tmp_path, steps, **train):
    """A small DCGAN on 200 synthetic faces whose samples are varied after ~50 steps (diversity ratio
    0.5-1.1; 4 s per 100 steps on one core): latent 8, G width 8, D width 16, batch 8, lr_d 5e-4,
    lr_g 5e-3, no EMA."""
    cfg = load_preset("tiny")
    # The preset's balancing rules off: these runs are built to collapse (test_preset_balance.py tests them).
    for a in ("latent_dim=8", "g_width=8", "d_width=16", "lr_d=5e-4", "lr_g=5e-3", "synthetic_count=200",
              "holdout=16", "margin=0", "l2_adaptive=false", "warmup=false"):
        apply_override(cfg, a)
    t = cfg.train
    t.steps, t.batch, t.seed, t.device, t.ema = steps, 8, 3, "cpu", 0.0
    t.sample_every, t.health_every, t.checkpoint_every, t.sample_count, t.quality_every = 50, 10, 10, 64, 0
    for key, value in train.items():
        setattr(t, key, value)
    return cfg.validate()


def one_face_for_every_z(G: torch.nn.Module):
    """Make G draw the same image for every z (a collapsed generator) until the handle is removed.
    Tests collapse G on purpose: how fast a real training run collapses depends on the CPU's arithmetic
    (the same seed collapses at step 60 on one machine and recovers on another), what the detector and
    the rollback must do once it has does not."""
    return G.register_forward_pre_hook(lambda module, args: (args[0][:1].expand_as(args[0]).contiguous(), *args[1:]))


def run_watching(trainer, collapse_after=None):
    """Run to the end; record the diversity ratio of every health check. `collapse_after`: a step after
    which G draws one image for every z, until the run rolls back."""
    ratios, events, hooks = {}, [], []
    for _ in trainer.setup():
        pass
    check = trainer.health.check

    def recording(step, samples, history, **kw):
        alerts = check(step, samples, history, **kw)
        ratios[step] = trainer.health.last.get("diversity")
        return alerts

    trainer.health.check = recording
    for item in trainer.run():
        if isinstance(item, StepStats) and item.step == collapse_after and not hooks:
            hooks.append(one_face_for_every_z(trainer.nets["G"]))
        elif isinstance(item, Event):
            events.append(item)
            if item.kind == "rollback":
                for hook in hooks:
                    hook.remove()
    return ratios, events


def alerts_of(events, kind=None):
    return [e for e in events if e.kind == "alert" and (kind is None or e.data.get("kind") == kind)]


def test_collapse_is_caught_at_the_first_check_below_the_line(tmp_path):
    trainer = Trainer(health_config(tmp_path, 130), tmp_path / "run")
    ratios, events = run_watching(trainer, collapse_after=90)
    assert max(ratios[s] for s in ratios if s < 90) >= H.ARM_RATIO, f"never varied before the collapse: {ratios}"
    collapse = alerts_of(events, "collapse")
    assert len(collapse) == 1, f"collapse alerts {collapse}; diversity per check: {ratios}"
    assert trainer.health.armed
    alert_step = collapse[0].step
    first_below = min(s for s in ratios if s >= 90 and ratios[s] < H.COLLAPSE_RATIO)
    assert first_below in (90, 100), ratios
    # one image for every z: unmistakable, no confirmation wait (a reading near the line would wait)
    assert alert_step == first_below, (alert_step, ratios)
    assert ratios[max(ratios)] < 0.05 and collapse[0].data["diversity"] < H.COLLAPSE_RATIO
    kinds = [json.loads(line)["data"].get("kind") for line in (tmp_path / "run" / "events.jsonl").read_text().splitlines()
             if json.loads(line)["kind"] == "alert"]
    assert "collapse" in kinds


def test_rollback_recovers_from_a_collapse(tmp_path):
    """Varied faces by step 70; G collapses after step 100: the alert follows at the first check below
    the line, the run goes back to the last healthy checkpoint with its learning rates of then halved,
    and its samples are varied again."""
    cfg = health_config(tmp_path, 260, rollback=True, rollback_lr_factor=0.5)
    trainer = Trainer(cfg, tmp_path / "run")
    ratios, events = run_watching(trainer, collapse_after=100)
    assert max(ratios[s] for s in ratios if s < 100) >= H.ARM_RATIO, f"never varied before the collapse: {ratios}"
    collapse = alerts_of(events, "collapse") + alerts_of(events, "duplicates")
    assert len(collapse) == 1, f"alerts {[e.message for e in alerts_of(events)]}; diversity per check: {ratios}"
    first_below = min(s for s in ratios if s >= 100 and ratios[s] < H.COLLAPSE_RATIO)
    assert collapse[0].step == first_below, ratios
    rollbacks = [e for e in events if e.kind == "rollback"]
    assert len(rollbacks) == 1 and rollbacks[0].step == collapse[0].step
    assert 70 <= rollbacks[0].data["to_step"] <= first_below
    assert trainer.sched["G"].base == pytest.approx(2.5e-3) and trainer.sched["D"].base == pytest.approx(2.5e-4)
    after = [ratios[s] for s in sorted(ratios) if s > collapse[0].step + 50]
    assert after and min(after) >= H.CLEAR_RATIO and after[-1] >= H.ARM_RATIO, ratios


def test_healthy_run_of_the_same_length_raises_nothing(tmp_path):
    trainer = Trainer(health_config(tmp_path, 250, rollback=True), tmp_path / "run")
    ratios, events = run_watching(trainer)
    assert trainer.health.armed  # the detectors were live, not just waiting
    assert alerts_of(events) == [], [e.message for e in alerts_of(events)]
    assert not [e for e in events if e.kind == "rollback"]
    assert min(ratios[s] for s in ratios if s >= 100) >= H.CLEAR_RATIO


def test_ema_weights_resume_exactly(tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    cfg = tiny_config("dcgan", steps=6, cache_dir=tmp_path, ema=0.9, checkpoint_every=100)
    a = Trainer(cfg, straight)
    list(a.run())
    list(Trainer(tiny_config("dcgan", steps=3, cache_dir=tmp_path, ema=0.9, checkpoint_every=100), split).run())
    b = Trainer(cfg, split, resume=True)
    list(b.run())
    for (k, va), vb in zip(a.G_ema.state_dict().items(), b.G_ema.state_dict().values()):
        assert torch.equal(va, vb), f"G_ema.{k} differs after resume"
    ema_a = split_prefix(read_checkpoint(straight / "checkpoints" / "latest.safetensors")[0], "G_ema")
    ema_b = split_prefix(read_checkpoint(split / "checkpoints" / "latest.safetensors")[0], "G_ema")
    g_b = split_prefix(read_checkpoint(split / "checkpoints" / "latest.safetensors")[0], "G")
    assert ema_a.keys() == ema_b.keys() and all(torch.equal(ema_a[k], ema_b[k]) for k in ema_a)
    assert any(not torch.equal(ema_b[k], g_b[k]) for k in ema_b if ema_b[k].is_floating_point())
    assert torch.equal(a.sample_images(), b.sample_images())  # the grid comes from the EMA weights
    assert a.health.state_dict() == b.health.state_dict()


def test_a_vaegan_whose_decoder_draws_one_image_alerts_at_the_first_check(tmp_path, monkeypatch):
    """The VAE/GAN preset's collapse (issue: the same square for every z from step 300, the first check
    at 500, no alert): a decoder that never varied alerts at the first health check past ARM_STEPS, the
    quality check reports the diversity below the line, and the held-out reconstruction error is
    checked on the way."""
    monkeypatch.setattr(H, "ARM_STEPS", 20)
    cfg = tiny_config("vaegan", steps=30, cache_dir=tmp_path, sample_every=100, checkpoint_every=100,
                      health_every=10, quality_every=10, quality_n=16, sample_count=16)
    trainer = Trainer(cfg, tmp_path / "run")
    for _ in trainer.setup():
        pass
    errors = []
    check = trainer.health.check

    def recording(step, samples, history, **kw):
        errors.append(kw.get("recon_error"))
        return check(step, samples, history, **kw)

    trainer.health.check = recording
    one_face_for_every_z(trainer.nets["G"])
    events = [e for e in trainer.run() if isinstance(e, Event)]
    collapse = alerts_of(events, "collapse")
    assert [e.step for e in collapse] == [20], [e.message for e in alerts_of(events)]
    assert "never varied" in collapse[0].message
    low = alerts_of(events, "low_diversity")
    assert [e.step for e in low] == [20] and low[0].data["diversity"] < H.COLLAPSE_RATIO
    assert len(errors) == 3 and all(e is not None and 0 < e < 1 for e in errors)
    logged = [json.loads(line) for line in (tmp_path / "run" / "events.jsonl").read_text().splitlines()]
    assert {"collapse", "low_diversity"} <= {r["data"].get("kind") for r in logged if r["kind"] == "alert"}
