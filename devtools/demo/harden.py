"""Harden the demo's encoder against real photos: the second stage of the demo build.

The demo VAE/GAN learnt from clean cartoon faces, so its encoder had never seen greyscale, blur, low
contrast, sensor noise, a cluttered background or an off-centre face, and a real photo came back as
a smear. This stage teaches the encoder (the decoder is frozen: the demo's world and its samples do
not change) to answer for a photo what it answers for the clean face behind it. The synthetic faces'
photographic mode (latentlab/data/synthetic_photo.py) renders face i as a photograph with the same
factors as cartoon face i, so each training pair is (photo i, cartoon i):

- input: photo i, further degraded at random (greyscale, contrast and brightness, blur, noise) so no
  two epochs see the same picture; or (two draws in five) cartoon i, as it is or degraded alike, so
  the demo's own faces keep coming back as themselves;
- targets: the original encoder's code (mu, log-variance) of the clean cartoon i, and cartoon i
  itself through the frozen decoder;
- loss: |mu - mu_0|^2 + |logvar - logvar_0|^2 (per dimension, averaged) + PIXEL_WEIGHT * mean
  |Dec(mu) - cartoon i|; Adam with a cosine decay of the learning rate to zero.

Figures (before and after, on faces past the training set's indices, never seen by either stage):
the error of the photo's reconstruction against its clean face, the share of reconstructions nearest
to their own clean face among 100 (identity), the cartoon faces' own reconstruction error (must stay
where it was), and the face rate of the photos' reconstructions.

    .venv/bin/python -m devtools.demo.harden                       # a freshly trained demo, in place
    git show 1289065~1:resources/demo/vaegan32.safetensors > /tmp/old.safetensors   # the demo before
    .venv/bin/python -m devtools.demo.harden /tmp/old.safetensors --out /tmp/hard.safetensors --steps 3000
    .venv/bin/python -m devtools.demo.harden --compare OLD.safetensors   # labels kept, per label
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[2]
PIXEL_WEIGHT = 4.0
CARTOON_SHARE = 0.4
CLEAN_CARTOON_SHARE = 0.5  # of the cartoon inputs, those left undegraded
EVAL_FACES = 100


def degrade(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random camera-like damage to a batch in [-1, 1]: greyscale (1 in 5), contrast 0.6-1.3 and
    brightness +-0.15, Gaussian blur of sigma 0.4-1.4 px (1 in 3), then noise of sigma 0-0.06."""
    n = x.shape[0]

    def draw(lo: float, hi: float, shape=(1, 1, 1)) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand((n, *shape), generator=gen)

    grey = (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True).expand_as(x)
    x = torch.where(torch.rand((n, 1, 1, 1), generator=gen) < 0.2, grey, x)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = mean + (x - mean) * draw(0.6, 1.3) + draw(-0.15, 0.15)
    sigma = draw(0.4, 1.4, ())
    radius = 3
    taps = torch.arange(-radius, radius + 1, dtype=x.dtype)
    k1 = torch.exp(-0.5 * (taps.view(1, -1) / sigma.view(-1, 1)) ** 2)
    k1 = k1 / k1.sum(1, keepdim=True)  # (n, 7)
    blurred = F.pad(x, (radius,) * 4, mode="reflect")
    c, h, w = x.shape[1:]
    per_image = blurred.reshape(1, n * c, h + 2 * radius, w + 2 * radius)
    kx = k1.repeat_interleave(c, 0).view(n * c, 1, 1, -1)
    ky = k1.repeat_interleave(c, 0).view(n * c, 1, -1, 1)
    per_image = F.conv2d(F.conv2d(per_image, kx, groups=n * c), ky, groups=n * c)
    blurred = per_image.view(n, c, h, w)
    x = torch.where(torch.rand((n, 1, 1, 1), generator=gen) < 1 / 3, blurred, x)
    x = x + draw(0.0, 0.06) * torch.randn(x.shape, generator=gen)
    return x.clamp(-1, 1)


def render_pairs(start: int, stop: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8 (photos, cartoons) of faces start..stop-1: the same faces in both styles."""
    from latentlab.data.synthetic_render import render_many

    return render_many(start, stop, size, "photo")[0], render_many(start, stop, size, "cartoon")[0]


def load(path: Path):
    """(E, G, tensors, meta) of a slim demo checkpoint (or any VAE/GAN checkpoint)."""
    from latentlab.models import build_models
    from latentlab.run.checkpoint import config_from_meta, read_checkpoint, split_prefix

    tensors, meta = read_checkpoint(path)
    cfg = config_from_meta(meta, str(path))
    nets = build_models(cfg.model)
    E, G = nets["E"], nets["G"]
    E.load_state_dict(split_prefix(tensors, "E"))
    G.load_state_dict(split_prefix(tensors, "G_ema") or split_prefix(tensors, "G"))
    return E.eval(), G.eval(), tensors, meta


def evaluate(E, G, photos: np.ndarray, cartoons: np.ndarray) -> dict[str, float]:
    """The hardening's figures on faces neither stage trained on (see the module's docstring)."""
    from latentlab.data.faces import face_rate
    from latentlab.inference.encode import reconstruct
    from latentlab.metrics.recon import identity, mae
    from latentlab.run.grids import to_uint8

    rec_p, rec_c = reconstruct(G, E, photos), reconstruct(G, E, cartoons)
    n = min(EVAL_FACES, len(cartoons))
    return {
        "photo_to_clean_mae": mae(cartoons, rec_p) * 255,
        "photo_identity": identity(cartoons[:n], rec_p[:n]),
        "cartoon_mae": mae(cartoons, rec_c) * 255,
        "photo_recon_face_rate": float(face_rate(to_uint8(rec_p).numpy())),
        "photo_face_rate": float(face_rate(photos)),
    }


KEPT = ("blond_hair", "dark_hair", "red_hair", "grey_hair", "long_hair", "bald", "dark_skin", "pale_skin", "glasses",
        "sunglasses", "beard", "smiling")


def auc(score: np.ndarray, labels: np.ndarray) -> float:
    """The chance that a face with the label scores above one without (ties count half)."""
    pos, neg = score[labels], score[~labels]
    if not len(pos) or not len(neg):
        return float("nan")
    return float((pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean())


@torch.no_grad()
def kept_attributes(old: Path, new: Path, start: int = 12000, n: int = 600) -> list[str]:
    """Does a photo's code keep its face's labels (hair colour and length, skin, glasses, smile)? For
    each label, the AUC of the code's projection on the attribute vector of `new` (its attributes
    file): clean faces through the old encoder, their photos through the old and the new one."""
    from latentlab.data import synthetic
    from latentlab.latent.attributes import read_attributes
    from latentlab.models.common import from_uint8
    from latentlab.run.checkpoint import config_from_meta

    E_old, (E_new, _, _, meta) = load(old)[0], load(new)
    photos, cartoons = render_pairs(start, start + n, config_from_meta(meta).model.image_size)
    labels = [synthetic.binary_labels(synthetic.sample_factors(i)) for i in range(start, start + n)]
    vectors = read_attributes(new).vectors
    codes = {"clean, old encoder": E_old(from_uint8(torch.from_numpy(cartoons)))[0].numpy(),
             "photo, old encoder": E_old(from_uint8(torch.from_numpy(photos)))[0].numpy(),
             "photo, hardened": E_new(from_uint8(torch.from_numpy(photos)))[0].numpy()}
    rows = [f"{'label':12s}" + "".join(f"{k:>20s}" for k in codes)]
    table = {k: [] for k in codes}
    for name in (k for k in KEPT if k in vectors):
        y = np.array([face[name] for face in labels])
        for k, z in codes.items():
            table[k].append(auc(z @ vectors[name], y))
        rows.append(f"{name:12s}" + "".join(f"{table[k][-1]:20.2f}" for k in codes))
    rows.append(f"{'mean':12s}" + "".join(f"{np.nanmean(v):20.2f}" for v in table.values()))
    return rows


def harden(E, G, photos: np.ndarray, cartoons: np.ndarray, steps: int, batch: int = 64, lr: float = 3e-4,
           seed: int = 0, report=None, pixel_weight: float = PIXEL_WEIGHT) -> list[float]:
    """Train E in place (G frozen) on the pairs; returns the loss of every step. Both nets stay in
    eval mode: the encoder's BatchNorm keeps the statistics of the faces it was trained on (its
    affine weights still learn), so what it answers for a clean face moves as little as it can."""
    from latentlab.models.common import from_uint8

    E.eval(), G.eval()
    gen = torch.Generator().manual_seed(seed)
    p_all, c_all = from_uint8(torch.from_numpy(photos)), from_uint8(torch.from_numpy(cartoons))
    with torch.no_grad():
        mu0, logvar0 = (torch.cat(t) for t in zip(*(E(c_all[i:i + 256]) for i in range(0, len(c_all), 256))))
    for prm in G.parameters():
        prm.requires_grad_(False)
    opt = torch.optim.Adam(E.parameters(), lr=lr, betas=(0.5, 0.999))
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, steps))
    losses = []
    for step in range(steps):
        idx = torch.randint(0, len(c_all), (batch,), generator=gen)
        draw = torch.rand((batch, 1, 1, 1), generator=gen)
        clean = draw < CARTOON_SHARE * CLEAN_CARTOON_SHARE
        x = torch.where(draw < CARTOON_SHARE, c_all[idx], p_all[idx])
        x = torch.where(clean, x, degrade(x, gen))
        mu, logvar = E(x)
        rec = G(mu)
        loss = (F.mse_loss(mu, mu0[idx]) + F.mse_loss(logvar, logvar0[idx])
                + pixel_weight * (rec - c_all[idx]).abs().mean())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        schedule.step()
        losses.append(float(loss.detach()))
        if report:
            report(step + 1, losses[-1])
    return losses


def write(path: Path, E, tensors: dict, meta: dict, figures: dict, steps: int) -> Path:
    from latentlab.run.checkpoint import save_checkpoint

    out = {k: v for k, v in tensors.items() if not k.startswith("E.")}
    out.update({f"E.{k}": v.detach().clone() for k, v in E.state_dict().items()})
    meta = dict(meta)
    meta["encoder_hardened"] = {"by": "devtools/demo/harden.py", "steps": steps,
                                **{k: round(v, 4) for k, v in figures.items()}}
    return save_checkpoint(path, out, meta)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint", nargs="?", default=str(ROOT / "resources" / "demo" / "vaegan32.safetensors"))
    p.add_argument("--out", help="default: the checkpoint itself (written atomically)")
    p.add_argument("--faces", type=int, default=12000, help="training pairs: faces 0..N-1 (the demo's own)")
    p.add_argument("--eval-start", type=int, default=12000, help="first held-out face (past the training set)")
    p.add_argument("--eval", type=int, default=256, help="held-out faces measured")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cache", help="an .npz of the rendered pairs to reuse (written when absent)")
    p.add_argument("--compare", metavar="OLD", help="only report: how well photos' codes keep their faces' labels "
                   "under OLD's encoder and the checkpoint's (AUC per label)")
    p.add_argument("--figure", help="a PNG: 8 held-out photos, their reconstructions before and after, the clean faces")
    return p.parse_args(argv)


def harden_checkpoint(path: Path, out: Path, steps: int = 3000, faces: int = 12000, eval_start: int = 12000,
                      eval_faces: int = 256, batch: int = 64, lr: float = 3e-4, seed: int = 0,
                      cache: str | None = None, figure: str | None = None) -> tuple[dict, dict]:
    """Harden the encoder of the checkpoint at `path` and write the result to `out` (which may be
    `path`: the write is atomic). Returns the figures (before, after). `figure`: a PNG of 8 held-out
    faces: their photos, the reconstructions before and after, and the clean faces, one row each."""
    E, G, tensors, meta = load(path)
    if "encoder_hardened" in meta:
        raise SystemExit(f"{path}: its encoder is already hardened (its codes would be the teacher's); start "
                         "from the checkpoint before, e.g. `git show HEAD~N:resources/demo/vaegan32.safetensors`")
    E_before = copy.deepcopy(E)
    from latentlab.run.checkpoint import config_from_meta

    size = config_from_meta(meta).model.image_size
    t0 = time.perf_counter()
    if cache and Path(cache).is_file():
        with np.load(cache) as z:
            photos, cartoons, eval_p, eval_c = z["photos"], z["cartoons"], z["eval_p"], z["eval_c"]
    else:
        print(f"rendering {faces} training pairs and {eval_faces} held-out pairs at {size} px", flush=True)
        photos, cartoons = render_pairs(0, faces, size)
        eval_p, eval_c = render_pairs(eval_start, eval_start + eval_faces, size)
        if cache:
            np.savez(cache, photos=photos, cartoons=cartoons, eval_p=eval_p, eval_c=eval_c)
    print(f"pairs ready in {time.perf_counter() - t0:.0f} s", flush=True)
    before = evaluate(E, G, eval_p, eval_c)
    last = [time.perf_counter()]

    def report(step, loss):
        if time.perf_counter() - last[0] > 30 or step == steps:
            last[0] = time.perf_counter()
            print(f"hardening step {step}/{steps} loss {loss:.4f}", flush=True)

    harden(E, G, photos, cartoons, steps, batch, lr, seed, report)
    after = evaluate(E, G, eval_p, eval_c)
    print(f"{'':24}{'before':>10}{'after':>10}")
    for k in before:
        print(f"{k:24}{before[k]:10.3f}{after[k]:10.3f}")
    print(f"wrote {write(out, E, tensors, meta, after, steps)}", flush=True)
    if figure:
        save_figure(E_before, E, G, eval_p[:8], eval_c[:8], figure)
    return before, after


def save_figure(E_before, E_after, G, photos: np.ndarray, cartoons: np.ndarray, png: str) -> None:
    from latentlab.inference.encode import reconstruct
    from latentlab.models.common import from_uint8
    from latentlab.run.grids import save_grid

    rows = [from_uint8(torch.from_numpy(photos)), reconstruct(G, E_before, photos), reconstruct(G, E_after, photos),
            from_uint8(torch.from_numpy(cartoons))]
    print(f"wrote {save_grid(torch.cat(rows), png, rows=4)}: photos, before, after, clean faces", flush=True)


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    path = Path(args.checkpoint)
    if args.compare:
        print("\n".join(kept_attributes(Path(args.compare), path, args.eval_start)))
        return 0
    harden_checkpoint(path, Path(args.out or path), args.steps, args.faces, args.eval_start, args.eval,
                      args.batch, args.lr, args.seed, args.cache, args.figure)
    return 0


if __name__ == "__main__":
    sys.exit(main())
