"""Reconstruction benchmark of a VAE/GAN checkpoint on held-out faces.

On faces the model never saw (by default synthetic faces past the training set's indices; or the
held-out tail of any source, e.g. a folder of photos), it measures:
- MAE: mean absolute pixel error of Dec(mu(x)) against x, as a fraction of 255;
- identity: the share of reconstructions nearest (pixel L2) to their own input (chance 1/N);
- face rate: the share of inputs, of reconstructions and of random samples z ~ N(0, I) in which the
  project's face detector (latentlab.data.faces.face_rate, OpenCV's Haar cascade) finds a face;
- HF ratio: spectral energy above half the Nyquist frequency, reconstructions over inputs
  (latentlab.metrics.recon): above 1 is speckle or checkerboard, below 1 is blur;
and writes a grid PNG (rows of inputs above rows of their reconstructions) and a sample grid.
--run RUN measures every checkpoint of a training run the same way, and adds from the run's own log
the share of steps on which D and G were updated since the previous checkpoint, the samples'
diversity (mean pairwise feature distance over the held-out faces', latentlab.metrics.features; the
health check's line is 0.2) and the alerts raised: one table row per checkpoint, so a collapse shows
in the table. --train PRESET[,PRESET...|all] first trains each preset's default run (reduced with
--steps, --size, --batch) on --data, then measures it; a GAN preset gets the same rows without the
reconstruction columns.
--latent-gap also decodes the encoder's posterior samples of the faces, and latents from a
full-covariance Gaussian fitted to their codes, and gives the face rate of each beside z ~ N(0, I):
when the first two are far above the third, random samples fall where the decoder was not trained.

    .venv/bin/python -m devtools.bench.recon resources/demo/vaegan64.safetensors
    .venv/bin/python -m devtools.bench.recon CKPT --source ~/photos --n 100 --grid /tmp/r.png
    .venv/bin/python -m devtools.bench.recon --run runs/vaegan-32 --n 100
    .venv/bin/python -m devtools.bench.recon --train vaegan --data synthetic-photo --size 32 \
        --batch 32 --steps 2600 --every 500 --out /tmp/bench-vaegan-photo
    .venv/bin/python -m devtools.bench.recon --train all --steps 300 --size 32 --out /tmp/bench-presets
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]


def held_out_faces(cfg, source: str, n: int) -> np.ndarray:
    """uint8 (n, S, S, 3) faces the model was not trained on."""
    from latentlab.data.sources import is_synthetic, parse_spec

    size = cfg.model.image_size
    if is_synthetic(source):
        from latentlab.data.synthetic_render import render_many

        # past the training set's indices (the photographic mode renders the same faces)
        start = cfg.data.synthetic_count if is_synthetic(cfg.data.source) else 0
        return render_many(start, start + n, size, parse_spec(source).style)[0]
    from latentlab.data import open_source

    data = open_source(source, size, crop=cfg.data.crop, arch=cfg.model.arch, holdout=max(n, cfg.data.holdout))
    return np.asarray(data.images[len(data) - data.holdout:][:n])


def decode(g: torch.nn.Module, z: torch.Tensor) -> torch.Tensor:
    """g(z) in batches of 64 on g's device, float on the CPU."""
    device = next(g.parameters()).device
    with torch.inference_mode():
        return torch.cat([g(z[i:i + 64].to(device)).float().cpu() for i in range(0, len(z), 64)])


def measure(G: torch.nn.Module, E: torch.nn.Module, faces: np.ndarray, samples: int = 256,
            seed: int = 0) -> tuple[dict[str, float], torch.Tensor, torch.Tensor]:
    """The figures, the reconstructions and `samples` random samples (both float, [-1, 1])."""
    from latentlab.data.faces import face_rate
    from latentlab.inference.encode import reconstruct
    from latentlab.metrics.recon import reconstruction_figures
    from latentlab.models.common import eval_module
    from latentlab.run.grids import to_uint8

    rec = reconstruct(G, E, faces)
    figures = reconstruction_figures(faces, rec)
    figures["face_rate_inputs"] = face_rate(faces)
    figures["face_rate_recon"] = face_rate(to_uint8(rec).cpu().numpy())
    z = torch.randn(samples, G.latent_dim, generator=torch.Generator().manual_seed(seed))
    fake = decode(eval_module(G), z)
    figures["face_rate_samples"] = face_rate(to_uint8(fake).cpu().numpy())
    figures["faces"], figures["samples"] = len(faces), samples
    return figures, rec, fake


def latent_gap(G, E, faces: np.ndarray, samples: int = 256, seed: int = 0) -> dict[str, float]:
    """Face rates of decodes from z ~ N(0, I), from the posteriors q(z|x) of `faces`, and from a
    Gaussian with the codes' mean and covariance (plus the mean posterior variance)."""
    from latentlab.data.faces import face_rate
    from latentlab.inference.encode import to_float
    from latentlab.models.common import eval_module
    from latentlab.run.grids import to_uint8

    g, e = eval_module(G), eval_module(E)
    gen = torch.Generator().manual_seed(seed)
    with torch.inference_mode():
        mu, logvar = (t.float().cpu() for t in e(to_float(faces).to(next(e.parameters()).device)))
    eps = torch.randn(samples, mu.shape[1], generator=gen)
    pick = torch.arange(samples) % len(mu)
    posterior = mu[pick] + torch.exp(0.5 * logvar[pick]) * torch.randn(samples, mu.shape[1], generator=gen)
    cov = torch.cov(mu.T) + torch.diag(logvar.exp().mean(0))
    fitted = mu.mean(0) + eps @ torch.linalg.cholesky(cov).T

    def rate(z):
        return face_rate(to_uint8(decode(g, z)).numpy())

    return {"prior": rate(eps), "posterior": rate(posterior), "fitted_gaussian": rate(fitted)}


def save_grids(faces: np.ndarray, rec: torch.Tensor, fake: torch.Tensor, recon_png: str | Path | None,
               samples_png: str | Path | None, per_row: int = 8) -> None:
    from latentlab.inference.encode import to_float
    from latentlab.run.grids import save_grid

    if recon_png:
        k = min(len(faces), 4 * per_row)
        x = to_float(faces[:k])
        rows = [t for i in range(0, k, per_row) for t in (x[i:i + per_row], rec[i:i + per_row])]
        save_grid(torch.cat(rows), recon_png, rows=len(rows))
    if samples_png:
        save_grid(fake[:64], samples_png)


def format_figures(f: dict) -> str:
    return (f"MAE {f['mae'] * 255:.1f}/255  identity {f['identity']:.1%}  HF ratio {f['hf_ratio']:.2f}  "
            f"face rate: inputs {f['face_rate_inputs']:.1%}, reconstructions {f['face_rate_recon']:.1%}, "
            f"{f['samples']} samples {f['face_rate_samples']:.1%}  ({f['faces']} held-out faces)")


def sample_diversity(fake: torch.Tensor, faces: np.ndarray) -> float:
    """Mean pairwise feature distance of the samples over that of the held-out faces (real: about 1)."""
    from latentlab.metrics.features import embed, mean_pairwise_distance

    ref = mean_pairwise_distance(embed(faces))
    return mean_pairwise_distance(embed(fake)) / ref if ref > 0 else 0.0


def read_log(run: Path) -> tuple[list[dict], list[dict]]:
    from latentlab.run.layout import RunLayout

    def rows(path: Path):
        if not path.is_file():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    layout = RunLayout(run)
    return rows(layout.metrics), rows(layout.events)


def run_rows(run: Path, n: int, samples: int, source: str | None = None) -> list[dict]:
    """One dict per checkpoint of `run` (step order): the log's update shares and alerts since the
    previous checkpoint, and the figures of `measure` (GAN checkpoints: sample figures only)."""
    from latentlab.data.faces import face_rate
    from latentlab.inference.render import Renderer
    from latentlab.models.common import eval_module
    from latentlab.run.grids import to_uint8
    from latentlab.run.layout import RunLayout

    metrics, events = read_log(run)
    ckpts = RunLayout(run).step_checkpoints()
    out, previous, faces = [], 0, None
    for step, path in ckpts:
        model = Renderer.from_checkpoint(path)
        if faces is None:
            faces = held_out_faces(model.config, source or model.config.data.source, n)
        span = [m for m in metrics if previous < m["step"] <= step]
        row = {"step": step, "checkpoint": str(path),
               "d_updated": float(np.mean([m["d_updated"] for m in span])) if span else float("nan"),
               "g_updated": float(np.mean([m["g_updated"] for m in span])) if span else float("nan"),
               "alerts": sorted({e["data"].get("kind", "?") for e in events
                                 if e["kind"] == "alert" and previous < e["step"] <= step})}
        if model.E is not None:
            figures, _, fake = measure(model.G, model.E, faces, samples)
        else:
            z = torch.randn(samples, model.G.latent_dim, generator=torch.Generator().manual_seed(0))
            fake = decode(eval_module(model.G), z)
            figures = {"face_rate_inputs": face_rate(faces), "face_rate_samples": face_rate(to_uint8(fake).numpy())}
        figures["diversity"] = sample_diversity(fake, faces)
        row.update(figures)
        out.append(row)
        previous = step
    return out


def format_table(rows: list[dict]) -> str:
    def pct(v):
        return "–" if v is None or v != v else f"{v:.0%}"

    lines = ["| step | D updated | G updated | diversity | face rate samples | face rate inputs / reconstructions "
             "| identity | MAE /255 | alerts |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        recon = f"{pct(r['face_rate_inputs'])} / {pct(r.get('face_rate_recon'))}"
        mae = f"{r['mae'] * 255:.1f}" if "mae" in r else "–"
        lines.append(f"| {r['step']} | {pct(r['d_updated'])} | {pct(r['g_updated'])} | {r['diversity']:.2f} | "
                     f"{pct(r['face_rate_samples'])} | {recon} | {pct(r.get('identity'))} | {mae} | "
                     f"{', '.join(r['alerts']) or '–'} |")
    return "\n".join(lines)


def train_preset(preset: str, out: Path, args) -> Path:
    """The preset's default run, reduced by --steps/--size/--batch, on --data, checkpoints every --every."""
    import os
    import subprocess

    run = out / preset if args.train_many else out
    cmd = [sys.executable, "-m", "latentlab", "train", "--preset", preset, "--out", str(run), "--quiet",
           "--steps", str(args.steps), "--seed", str(args.seed),
           "--set", f"train.checkpoint_every={args.every}", "--set", f"train.quality_every={args.every}"]
    if args.data:
        cmd += ["--data", args.data]
    if args.batch:
        cmd += ["--batch", str(args.batch)]
    if args.size:
        cmd += ["--set", f"model.image_size={args.size}"]
    for assignment in args.set:
        cmd += ["--set", assignment]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    print(" ".join(cmd[1:]), flush=True)
    subprocess.run(cmd, check=True, env=env)
    return run


def main_runs(args) -> int:
    from latentlab.config import preset_names

    runs = []
    if args.train:
        presets = preset_names() if args.train == "all" else args.train.split(",")
        args.train_many = len(presets) > 1
        runs = [train_preset(p, Path(args.out), args) for p in presets]
    else:
        runs = [Path(args.run)]
    results = {}
    for run in runs:
        rows = run_rows(run, args.n, args.samples, args.source if args.source_given else None)
        results[str(run)] = rows
        print(f"\n{run} ({args.n} held-out faces, {args.samples} samples)\n{format_table(rows)}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint", nargs="?", help="default: the bundled demo model")
    p.add_argument("--run", help="a run directory: measure each of its checkpoints, one table row per checkpoint")
    p.add_argument("--train", help="PRESET[,PRESET...] or all: train each preset's default run first (see --steps)")
    p.add_argument("--data", help="--train: the data source (default: the preset's)")
    p.add_argument("--steps", type=int, default=300, help="--train: steps of each run (default 300)")
    p.add_argument("--size", type=int, help="--train: image size (default: the preset's)")
    p.add_argument("--batch", type=int, help="--train: batch (default: the preset's)")
    p.add_argument("--every", type=int, default=100, help="--train: checkpoint and quality-check interval")
    p.add_argument("--seed", type=int, default=0, help="--train: seed")
    p.add_argument("--set", action="append", default=[], help="--train: any config KEY=VALUE")
    p.add_argument("--out", default="/tmp/latentlab-bench-runs", help="--train: where the runs go (new folders)")
    p.add_argument("--source", default="synthetic", help="synthetic (faces past the training indices) or any "
                   "data source; its held-out tail is used")
    p.add_argument("--n", type=int, default=256, help="held-out faces (default 256)")
    p.add_argument("--samples", type=int, default=256, help="random samples for the sample face rate")
    p.add_argument("--grid", default="/tmp/latentlab-recon.png", help="inputs over reconstructions PNG")
    p.add_argument("--sample-grid", default="/tmp/latentlab-samples.png", help="64 random samples PNG")
    p.add_argument("--json", help="also write the figures here")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--latent-gap", action="store_true", help="also the face rates of decodes from the posteriors "
                   "of the faces and from a Gaussian fitted to their codes")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    args.source_given = "--source" in (argv if argv is not None else sys.argv[1:])
    if args.run or args.train:
        return main_runs(args)
    from latentlab.config import UserError
    from latentlab.inference.encode import load_encoder_model
    from latentlab.resources import demo_checkpoint

    args.checkpoint = args.checkpoint or str(demo_checkpoint())
    try:
        model = load_encoder_model(args.checkpoint)
        faces = held_out_faces(model.config, args.source, args.n)
    except UserError as exc:
        print(f"bench_recon: {exc}", file=sys.stderr)
        return 2
    figures, rec, fake = measure(model.G, model.E, faces, args.samples)
    save_grids(faces, rec, fake, args.grid, args.sample_grid)
    figures["checkpoint"] = str(args.checkpoint)
    print(format_figures(figures))
    if args.latent_gap:
        figures["latent_gap"] = gap = latent_gap(model.G, model.E, faces, args.samples)
        print(f"face rate of decodes: z ~ N(0, I) {gap['prior']:.1%}, posterior samples of the faces "
              f"{gap['posterior']:.1%}, a Gaussian fitted to their codes {gap['fitted_gaussian']:.1%}")
    print(f"grids: {args.grid}, {args.sample_grid}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
