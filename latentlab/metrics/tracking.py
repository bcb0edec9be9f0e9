"""Quality of a generator: during training ("quality" events) and for a checkpoint (`latentlab metrics`).

During training (train.quality_every = N > 0) the engine calls `QualityTracker.measure` every N steps.
It draws train.quality_n images from the generator used for samples (EMA weights where present)
with a fixed z of its own (a private torch.Generator: the run's RNG is untouched, so resume stays
exact) and compares them with a fixed subset of as many training images, embedded once. Each
measurement is one line in RUN/events.jsonl:

    {"kind": "quality", "step": 1200, "message": "quality: precision 0.71, recall 0.55, ...",
     "path": null, "data": {"precision": 0.71, "recall": 0.55, "fd_random": 3.2, "diversity": 0.93, "n": 256}}

Being an event, it is cut back with the rest of the log when a run resumes, and the app's Metrics view
plots it. The numbers live in the random-conv feature space (features.py): comparable between runs of
latentlab, not with published FID or precision/recall.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from latentlab.metrics.features import SEED, embed, reference_indices
from latentlab.metrics.quality import offline_metrics

Z_SEED = SEED + 2  # the quality z, apart from the fixed-noise grid's


@torch.no_grad()
def generate(G: torch.nn.Module, n: int, seed: int = Z_SEED, batch: int = 256) -> torch.Tensor:
    """n images (float CPU (n,3,S,S) in [-1,1]) from G in eval mode, for z drawn from `seed` alone."""
    device = next(G.parameters()).device
    z = torch.randn(n, G.latent_dim, generator=torch.Generator().manual_seed(seed))
    was_training = G.training
    G.eval()
    try:
        return torch.cat([G(z[i: i + batch].to(device)).float().cpu() for i in range(0, n, batch)])
    finally:
        G.train(was_training)


def real_subset(data, n: int):
    """A fixed subset of up to n training images (uint8), the same at every measurement."""
    return data.images[reference_indices(data.train_count, n, seed=SEED + 1)]


class QualityTracker:
    def __init__(self, cfg, data):
        self.n = int(cfg.train.quality_n)
        self.real_features = embed(real_subset(data, self.n))

    def measure(self, step: int, G: torch.nn.Module):
        from latentlab.config import UserError
        from latentlab.run.control import Event

        fake = embed(generate(G, self.n))
        try:
            values = {k: round(v, 5) for k, v in offline_metrics(self.real_features, fake).items()}
        except UserError as exc:  # a data set of a handful of images: say so, keep training
            return Event("info", step, f"quality metrics skipped: {exc}")
        values["n"] = self.n
        return Event("quality", step, format_metrics(values, prefix="quality: "), data=values)


def format_metrics(values: dict, prefix: str = "") -> str:
    parts = []
    for key, label, fmt in (("precision", "precision", ".3f"), ("recall", "recall", ".3f"),
                            ("fd_random", "FD (random features)", ".3f"), ("diversity", "diversity", ".2f"),
                            ("fid", "FID", ".2f"), ("kid", "KID", ".4f")):
        if key in values and values[key] is not None:
            parts.append(f"{label} {values[key]:{fmt}}")
    return prefix + ", ".join(parts)


def evaluate_checkpoint(checkpoint: str | Path, data_spec: str | None = None, *, n: int = 2000, fid: bool = False,
                        inception: str | Path | None = None, seed: int = Z_SEED, progress=None) -> dict:
    """Offline metrics (and FID/KID with `fid`) of a checkpoint's generator against a data source
    (default: the one it was trained on). `progress(stage: str)` is told what is happening."""
    from latentlab.data import open_source
    from latentlab.run.checkpoint import load_model

    say = progress or (lambda stage: None)
    model = load_model(checkpoint)
    cfg = model.config
    inception_net = None
    if fid:  # before the slow part: a missing weights file must not cost minutes first
        from latentlab.metrics.quality import load_inception

        say("loading the Inception weights")
        inception_net = load_inception(inception)
    spec = data_spec or cfg.data.source
    say(f"opening {spec}")
    data = open_source(spec, cfg.model.image_size, crop=cfg.data.crop, arch=cfg.model.arch,
                       synthetic_count=cfg.data.synthetic_count, holdout=cfg.data.holdout,
                       cache_dir=cfg.data.cache_dir or None, align=cfg.data.align)
    real = real_subset(data, n)
    say(f"generating {n} images")
    fake = generate(model.G, n, seed)
    say("embedding")
    result = offline_metrics(embed(real), embed(fake))
    result.update({"n_real": len(real), "n_fake": int(n), "checkpoint": str(checkpoint), "step": model.step,
                   "data": spec})
    if inception_net is not None:
        from latentlab.metrics.quality import fid_kid, inception_features

        say("Inception features (slow on a CPU)")
        result.update(fid_kid(inception_features(inception_net, real), inception_features(inception_net, fake)))
    return result


def write_json(path: str | Path, values: dict) -> Path:
    from latentlab.atomic import write_text_atomic

    path = Path(path)
    write_text_atomic(path, json.dumps(values, indent=2, sort_keys=True) + "\n")
    return path


EXPLAIN = {
    "precision": "share of generated images inside the real images' k-NN manifold (fidelity)",
    "recall": "share of real images inside the generated images' k-NN manifold (coverage)",
    "fd_random": "Frechet distance in the random-conv feature space (lower is better; not FID)",
    "diversity": "mean pairwise distance of the generated images / of the real ones (about 1 is right)",
    "fid": "FID, Inception-v3 pool features (lower is better; grows as n shrinks)",
    "kid": "KID, Inception-v3 pool features (lower is better; unbiased at any n)",
}


def report_lines(values: dict) -> list[str]:
    """The `latentlab metrics` printout: one metric a line, with what it means."""
    lines = [(f"{values.get('checkpoint', '?')} (step {values.get('step', '?')}) against {values.get('data', '?')}: "
              f"{values.get('n_fake', '?')} generated vs {values.get('n_real', '?')} real images")]
    for key, text in EXPLAIN.items():
        if values.get(key) is not None:
            extra = f" ± {values['kid_std']:.4f}" if key == "kid" and "kid_std" in values else ""
            lines.append(f"  {key:10s} {values[key]:10.4f}{extra}  {text}")
    lines.append("  precision, recall, fd_random and diversity use a fixed random feature space: compare them "
                 "between latentlab runs only, never with published figures.")
    return lines
