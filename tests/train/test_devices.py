"""Training on every device the app trains on (tests/devices.py): each preset trains 20 steps and a
run stopped at step 10 and resumed ends bit-identical to one that never stopped, random generators
included; a VAE/GAN step under bf16 autocast. On CUDA these run at the presets' own network sizes."""

import json

import pytest
import torch

from latentlab.config import apply_override, load_preset
from latentlab.run.control import Event
from latentlab.train.engine import Trainer
from latentlab.train.steps import vaegan_step
from tests.devices import DEVICES, deterministic
from tests.train.helpers import TINY_SETS

PRESETS = ["tiny", "dcgan", "torchgan2015", "vaegan", "vaegan-paper"]
STEPS, STOP = 20, 10


def preset_config(name, device, cache_dir, **train):
    """The preset's own rules; tiny networks on the CPU (seconds), the preset's sizes on a GPU."""
    cfg = load_preset(name)
    if device == "cpu":
        for assignment in TINY_SETS[cfg.model.arch]:
            if assignment.split("=")[0] in ("model.image_size", "latent_dim", "g_width", "d_width", "e_width"):
                apply_override(cfg, assignment)
    cfg.data.source, cfg.data.synthetic_count, cfg.data.holdout = "synthetic", 56, 8
    cfg.data.cache_dir = str(cache_dir)
    t = cfg.train
    t.steps, t.epochs, t.batch, t.seed, t.device = STEPS, 0, 16 if device == "cpu" else 32, 7, device
    t.sample_every, t.checkpoint_every, t.sample_count, t.quality_every = STOP, STOP, 4, 0
    for key, value in train.items():
        setattr(t, key, value)
    return cfg.validate()


def rng_states(device):
    states = [torch.get_rng_state()]
    if device != "cpu":
        states.append(torch.cuda.get_rng_state(device))
    return states


def train(cfg, out, *, resume=False, stop_at=None):
    """Run to the end, or until every event of step `stop_at` (its checkpoint included) is out."""
    trainer = Trainer(cfg, out, resume=resume)
    steps = trainer.run()
    for item in steps:
        if (stop_at is not None and isinstance(item, Event) and item.kind == "checkpoint"
                and item.step == stop_at):
            steps.close()
            break
    return trainer, rng_states(cfg.train.device)


def metric_rows(out):
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in row.items() if k not in ("time", "img_per_s")} for row in rows]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_trains_and_resumes_bit_exactly(tmp_path, device, preset):
    cfg = preset_config(preset, device, tmp_path / "cache")
    with deterministic():
        a, rng_a = train(cfg, tmp_path / "straight")
        b_first, _ = train(cfg, tmp_path / "split", stop_at=STOP)
        assert b_first.step == STOP
        b, rng_b = train(cfg, tmp_path / "split", resume=True)
    assert a.step == b.step == STEPS and a.device.type == device
    rows = metric_rows(tmp_path / "straight")
    assert [r["step"] for r in rows] == list(range(1, STEPS + 1))
    assert rows == metric_rows(tmp_path / "split")
    for name in a.nets:
        for (key, va), vb in zip(a.nets[name].state_dict().items(), b.nets[name].state_dict().values()):
            assert va.device.type == device and torch.equal(va, vb), f"{preset}: {name}.{key} differs after resume"
    for name in a.optims:
        sa, sb = a.optims[name].state_dict()["state"], b.optims[name].state_dict()["state"]
        for k in sa:
            for key, va in sa[k].items():
                assert torch.equal(torch.as_tensor(va), torch.as_tensor(sb[k][key])), f"{name} optimizer {key}"
    for ra, rb in zip(rng_a, rng_b):
        assert torch.equal(ra, rb), "the random generators differ after resume"


@pytest.mark.parametrize("device", DEVICES)
def test_a_vaegan_step_under_bf16(tmp_path, device):
    """train.amp = bf16: the convolutions run in bfloat16, the losses stay finite and every net moves."""
    cfg = preset_config("vaegan", device, tmp_path / "cache", amp="bf16", steps=1)
    trainer = Trainer(cfg, None)
    for _ in trainer.setup():
        pass
    seen = []
    hooks = [m.register_forward_hook(lambda m, i, o: seen.append(o.dtype))
             for net in trainer.nets.values() for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    before = {name: [p.detach().clone() for p in net.parameters()] for name, net in trainer.nets.items()}
    trainer.nets_train(True)
    try:
        s = vaegan_step(trainer, trainer.feeder.get(0))
    finally:
        for h in hooks:
            h.remove()
    assert seen and set(seen) == {torch.bfloat16}
    assert all(torch.isfinite(torch.tensor(v)) for v in (s.real, s.fake, s.gen))
    moved = {name: any(not torch.equal(p0, p) for p0, p in zip(before[name], net.parameters()))
             for name, net in trainer.nets.items()}
    assert moved == {name: True for name in trainer.nets}, moved
    for net in trainer.nets.values():
        assert all(p.dtype == torch.float32 and p.device.type == device for p in net.parameters())
