"""Tiny configs shared by the engine and CLI tests (seconds on two cores)."""

from latentlab.config import load_preset

TINY_SETS = {
    # The tiny preset's balancing rules are off here: with them a 3-step run may skip every G update
    # (tests/train/test_preset_balance.py drives them).
    "dcgan": ["model.image_size=32", "latent_dim=8", "g_width=4", "d_width=4", "margin=0", "l2_adaptive=false",
              "warmup=false"],
    "torchgan2015": ["latent_dim=8", "g_width=4", "d_width=2"],
    "vaegan": ["model.image_size=32", "latent_dim=8", "g_width=4", "d_width=4", "e_width=4"],
}
PRESET_OF = {"dcgan": "tiny", "torchgan2015": "torchgan2015", "vaegan": "vaegan"}


def tiny_config(arch="dcgan", steps=6, cache_dir=None, **train):
    from latentlab.config import apply_override

    cfg = load_preset(PRESET_OF[arch])
    for assignment in TINY_SETS[arch]:
        apply_override(cfg, assignment)
    cfg.data.source = "synthetic"
    cfg.data.synthetic_count = 40
    cfg.data.holdout = 8
    if cache_dir is not None:
        cfg.data.cache_dir = str(cache_dir)
    t = cfg.train
    t.steps, t.epochs, t.batch, t.seed, t.device = steps, 0, 8, 3, "cpu"
    t.sample_every, t.checkpoint_every, t.sample_count = 3, 3, 4
    for key, value in train.items():
        setattr(t, key, value)
    return cfg.validate()


def cli_args(arch="dcgan", steps=6):
    args = ["--preset", PRESET_OF[arch], "--data", "synthetic", "--steps", str(steps), "--batch", "8",
            "--device", "cpu", "--seed", "3", "--quiet"]
    for assignment in TINY_SETS[arch] + ["synthetic_count=40", "holdout=8", "sample_every=3",
                                          "checkpoint_every=3", "sample_count=4"]:
        args += ["--set", assignment]
    return args
