#!/usr/bin/env python3
"""Training-step throughput: images/s, the data path's share of a step, and FLOP/s as a fraction of
a 2048² matmul measured in the same run (fp32; on CUDA also bf16; docs/design.md target on the
2-core CPU: >= 75% of fp32). On CUDA the batches default to 128 and 512.

    .venv/bin/python -m devtools.bench.train [--preset dcgan] [--batch 64] [--steps 20] [--device auto]
        [--faces N | --data FOLDER] [--baseline] [--layers]

--faces N writes N procedural faces as 128 px JPEGs into a temporary folder and trains on that folder
(decoded once into latentlab's cache, as a user's CelebA folder is); --data uses a folder you have.
Without either, the synthetic source is used. --baseline also runs the PyTorch DCGAN example's
training loop (Radford et al. 2016; its JPEG loader with 2 workers, fp32, BCE with a Sigmoid D),
written here from scratch, on the same folder and batch, interleaved with latentlab's steps.
--layers times each generator transposed convolution's backward pass in both memory formats and
in the equivalent formulation (input gradient as a strided convolution), interleaved, as ratios.

FLOPs per training image of a GAN step (the engine's step, steps.py): D forward+backward on a real
and a fake image (2 x 3 x D), the G pass's D forward and input-gradient backward (2 x D), and G's
forward+backward (3 x G): 8·D + 3·G, with D and G the analytic forward FLOPs of models/flops.py.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from latentlab.config import apply_override, load_preset
from latentlab.models import discriminator_flops, generator_flops
from latentlab.train.engine import Trainer, resolve_device
from latentlab.train.steps import gan_step


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_flops(device: torch.device, dtype=torch.float32, n: int = 2048, repeats: int = 10) -> float:
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(2):
        a @ b
    _sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        _sync(device)
        times.append(time.perf_counter() - t0)
    return 2 * n**3 / statistics.median(times)


def write_faces(folder: Path, count: int, size: int = 128) -> Path:
    from PIL import Image

    from latentlab.data.synthetic_render import render_many

    folder.mkdir(parents=True, exist_ok=True)
    for start in range(0, count, 64):
        images, _ = render_many(start, min(start + 64, count), size)
        for i, img in enumerate(images):
            Image.fromarray(img).save(folder / f"face-{start + i:05d}.jpg", quality=90)
    return folder


# -- latentlab ----------------------------------------------------------------------------------------
def make_trainer(args, batch: int, data: Path | None, cache: Path) -> Trainer:
    cfg = load_preset(args.preset)
    if data is None:
        cfg.data.source, cfg.data.synthetic_count = "synthetic", max(2 * batch + 64, 512)
    else:
        cfg.data.source, cfg.data.crop = str(data), "center"
    cfg.data.cache_dir = str(cache)
    cfg.data.holdout = 0
    cfg.train.batch, cfg.train.device, cfg.train.steps = batch, args.device, 10**6
    for s in args.set:
        apply_override(cfg, s)
    trainer = Trainer(cfg, None)
    for _ in trainer.setup():
        pass
    trainer.nets_train(True)
    return trainer


def latentlab_step(trainer: Trainer, step: int) -> tuple[float, float]:
    """(seconds of the data path, seconds of the whole step) for one step."""
    device = trainer.device
    _sync(device)
    t0 = time.perf_counter()
    batch = trainer.feeder.get(step)
    _sync(device)
    t1 = time.perf_counter()
    gan_step(trainer, batch)
    _sync(device)
    return t1 - t0, time.perf_counter() - t0


# -- the PyTorch DCGAN example's loop, from scratch ---------------------------------------------------
class JpegFolder(torch.utils.data.Dataset):
    """The example's ImageFolder + Resize(64) + CenterCrop(64) + ToTensor + Normalize(0.5, 0.5)."""

    def __init__(self, folder: Path, size: int):
        self.files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        self.size = size

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> torch.Tensor:
        from PIL import Image

        with Image.open(self.files[i]) as im:
            im = im.convert("RGB")
            scale = self.size / min(im.size)
            im = im.resize((max(self.size, round(im.width * scale)), max(self.size, round(im.height * scale))),
                           Image.BILINEAR)
            left, top = (im.width - self.size) // 2, (im.height - self.size) // 2
            im = im.crop((left, top, left + self.size, top + self.size))
            x = torch.from_numpy(np.asarray(im, dtype=np.float32) / 255).permute(2, 0, 1)
        return (x - 0.5) / 0.5


def example_nets(nz: int = 100, ngf: int = 64, ndf: int = 64) -> tuple[nn.Module, nn.Module]:
    def init(m):
        if "Conv" in type(m).__name__:
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif "BatchNorm" in type(m).__name__:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)

    def up(cin, cout):
        return [nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]

    def down(cin, cout, bn=True):
        return [nn.Conv2d(cin, cout, 4, 2, 1, bias=False), *([nn.BatchNorm2d(cout)] if bn else []),
                nn.LeakyReLU(0.2, inplace=True)]

    G = nn.Sequential(nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
                      *up(ngf * 8, ngf * 4), *up(ngf * 4, ngf * 2), *up(ngf * 2, ngf),
                      nn.ConvTranspose2d(ngf, 3, 4, 2, 1, bias=False), nn.Tanh())
    D = nn.Sequential(*down(3, ndf, bn=False), *down(ndf, ndf * 2), *down(ndf * 2, ndf * 4), *down(ndf * 4, ndf * 8),
                      nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid())
    return G.apply(init), D.apply(init)


class ExampleLoop:
    """One iteration = the example's: next batch from the loader, D on real and fake, G on fake."""

    def __init__(self, folder: Path, batch: int, device: torch.device, workers: int = 2, nz: int = 100,
                 ngf: int = 64, ndf: int = 64):
        data = JpegFolder(folder, 64)
        self.loader = torch.utils.data.DataLoader(data, batch_size=batch, shuffle=True, num_workers=workers,
                                                  drop_last=True, persistent_workers=workers > 0)
        self.device = device
        self.nz = nz
        self.G, self.D = (net.to(device) for net in example_nets(nz, ngf, ndf))
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.loss = nn.BCELoss()
        self._it = iter(self.loader)

    def _next(self) -> torch.Tensor:
        try:
            return next(self._it)
        except StopIteration:
            self._it = iter(self.loader)
            return next(self._it)

    def step(self) -> tuple[float, float]:
        """(seconds waiting for the loader's batch and its copy to the device, seconds of the whole step)."""
        _sync(self.device)
        t0 = time.perf_counter()
        real = self._next().to(self.device)
        _sync(self.device)
        waited = time.perf_counter() - t0
        b = real.size(0)
        self.D.zero_grad()
        out = self.D(real).view(-1)
        err_real = self.loss(out, torch.ones(b, device=self.device))
        err_real.backward()
        fake = self.G(torch.randn(b, self.nz, 1, 1, device=self.device))
        out = self.D(fake.detach()).view(-1)
        self.loss(out, torch.zeros(b, device=self.device)).backward()
        self.opt_d.step()
        self.G.zero_grad()
        out = self.D(fake).view(-1)
        self.loss(out, torch.ones(b, device=self.device)).backward()
        self.opt_g.step()
        _sync(self.device)
        return waited, time.perf_counter() - t0


# -- per-layer transposed-convolution backward ----------------------------------------------------------
class _ConvTAsConv(torch.autograd.Function):
    """conv_transpose2d whose backward computes the input gradient as a strided conv2d with the same
    weight and the weight gradient as that conv2d's weight gradient: the same maths, other kernels."""

    @staticmethod
    def forward(ctx, x, w, stride, pad):
        ctx.save_for_backward(x, w)
        ctx.stride, ctx.pad = stride, pad
        return F.conv_transpose2d(x, w, stride=stride, padding=pad)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        s, p = ctx.stride, ctx.pad
        gx = F.conv2d(g, w, stride=s, padding=p)
        _, gw, _ = torch.ops.aten.convolution_backward(x, g, w, None, [s, s], [p, p], [1, 1], False, [0, 0], 1,
                                                       [False, True, False])
        return gx, gw, None, None


def layer_report(preset: str, batch: int, device: torch.device, repeats: int = 8) -> None:
    from latentlab.models import build_models

    G = build_models(load_preset(preset).model)["G"]
    convs = [m for m in G.modules() if isinstance(m, nn.ConvTranspose2d)]
    x = torch.randn(batch, convs[0].in_channels, 1, 1, device=device)
    print(f"generator transposed convolutions, backward at batch {batch} (ms, ratio to channels_last):")
    for m in convs:
        s, p = m.stride[0], m.padding[0]
        w0 = m.weight.detach().to(device)
        variants = {}
        for name in ("channels_last", "contiguous", "as conv2d, channels_last"):
            fmt = torch.contiguous_format if name == "contiguous" else torch.channels_last
            xi = x.detach().clone(memory_format=fmt).requires_grad_(True)
            w = w0.detach().clone(memory_format=fmt).requires_grad_(True)
            y = (_ConvTAsConv.apply(xi, w, s, p) if name.startswith("as conv2d") else
                 F.conv_transpose2d(xi, w, stride=s, padding=p))
            g = torch.randn(y.shape, generator=torch.Generator().manual_seed(0)).to(device)  # one g for all
            variants[name] = (xi, w, y, g.contiguous(memory_format=fmt))
        times = {name: [] for name in variants}
        grads = {}
        for _ in range(repeats):
            for name, (xi, w, y, g) in variants.items():
                xi.grad = w.grad = None
                _sync(device)
                t0 = time.perf_counter()
                torch.autograd.backward(y, g, retain_graph=True)
                _sync(device)
                times[name].append(time.perf_counter() - t0)
                grads[name] = (xi.grad, w.grad)
        ref = statistics.median(times["channels_last"])
        same = all(float((grads[n][i] - grads["channels_last"][i]).abs().max()) <= 1e-4 * float(grads[n][i].abs().max())
                   for n in grads for i in (0, 1))
        cells = "  ".join(f"{n} {statistics.median(t) * 1000:.1f} ({statistics.median(t) / ref:.2f})"
                          for n, t in times.items())
        worst = max(float((grads[n][i] - grads["channels_last"][i]).abs().max() / grads[n][i].abs().max())
                    for n in grads for i in (0, 1))
        print(f"  {m.in_channels}->{m.out_channels} at {x.shape[-1]} px: {cells}  [gradients agree: {same}, {worst:.1e}]")
        with torch.no_grad():
            x = F.relu(F.conv_transpose2d(x, w0, stride=s, padding=p))


# -----------------------------------------------------------------------------------------------------
def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--preset", default="dcgan")
    p.add_argument("--batch", type=int, action="append")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--device", default="auto")
    p.add_argument("--set", action="append", default=[])
    p.add_argument("--faces", type=int, default=0, help="write this many JPEG faces and train on them")
    p.add_argument("--data", default="", help="a folder of face images to train on")
    p.add_argument("--baseline", action="store_true", help="also run the PyTorch DCGAN example's loop")
    p.add_argument("--layers", action="store_true", help="per-layer transposed-convolution backward")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first (allocator, kernels, loader workers)")
    p.add_argument("--json", help="also write the figures here")
    p.add_argument("--matmul-size", type=int, default=2048, help="side of the reference matmul (default 2048)")
    args = p.parse_args()
    device = resolve_device(args.device)
    batches = args.batch or ([128, 512] if device.type == "cuda" else [64])
    print(f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    if args.layers:
        layer_report(args.preset, batches[0], device)
        return 0
    mm = matmul_flops(device, n=args.matmul_size)
    mm_bf16 = matmul_flops(device, torch.bfloat16, n=args.matmul_size) if device.type == "cuda" else 0.0
    print(f"{args.matmul_size}² matmul: fp32 {mm / 1e9:.1f} GFLOP/s"
          + (f", bf16 {mm_bf16 / 1e9:.1f} GFLOP/s" if mm_bf16 else ""))
    report = {"device": str(device), "device_name": torch.cuda.get_device_name(device) if device.type == "cuda"
              else "cpu", "torch": torch.__version__, "preset": args.preset, "matmul_size": args.matmul_size,
              "matmul_fp32": mm, "matmul_bf16": mm_bf16 or None, "rows": []}
    with tempfile.TemporaryDirectory(prefix="latentlab-bench-train-") as tmp:
        data = Path(args.data) if args.data else None
        if args.faces:
            data = write_faces(Path(tmp) / "faces", args.faces)
            print(f"data: {args.faces} procedural faces written as 128 px JPEGs")
        if args.baseline and (data is None or load_preset(args.preset).model.image_size != 64):
            print("--baseline needs --faces or --data (the example reads JPEG files) and a 64 px preset "
                  "(the example's networks are 64 px)", file=sys.stderr)
            return 2
        for batch in batches:
            trainer = make_trainer(args, batch, data, Path(tmp) / "cache")
            m = trainer.cfg.model  # the example's own sizes (nz 100, widths 64) unless --set shrinks both
            example = ExampleLoop(data, batch, device, nz=m.latent_dim, ngf=m.g_width, ndf=m.d_width) \
                if args.baseline else None
            for step in range(args.warmup):  # warm-up (allocator, kernels, loader workers)
                latentlab_step(trainer, step)
                if example:
                    example.step()
            ours, feed, theirs, waits = [], [], [], []
            for step in range(args.warmup, args.warmup + args.steps):
                data_s, step_s = latentlab_step(trainer, step)
                ours.append(step_s)
                feed.append(data_s)
                if example:
                    wait_s, their_s = example.step()
                    theirs.append(their_s)
                    waits.append(wait_s)
            per_step = statistics.median(ours)
            model = trainer.cfg.model
            flops = batch * (8 * discriminator_flops(model) + 3 * generator_flops(model)) / per_step
            ref = (mm + matmul_flops(device, n=args.matmul_size)) / 2
            line = (f"{args.preset} {model.image_size}px batch {batch}: {batch / per_step:.0f} images/s, data path "
                    f"{100 * statistics.median(feed) / per_step:.1f}% of the step, {flops / 1e9:.1f} GFLOP/s = "
                    f"{100 * flops / ref:.0f}% of fp32 matmul")
            if mm_bf16:
                line += f", {100 * flops / mm_bf16:.0f}% of bf16 matmul"
            print(line)
            row = {"batch": batch, "images_per_s": batch / per_step, "data_share": statistics.median(feed) / per_step,
                   "flops": flops, "of_fp32": flops / ref, "of_bf16": flops / mm_bf16 if mm_bf16 else None,
                   "resident": trainer.feeder.resident, "steps": args.steps}
            if example:
                their_step = statistics.median(theirs)
                ex = batch / their_step
                row.update(example_images_per_s=ex, example_data_share=statistics.median(waits) / their_step,
                           speedup=batch / per_step / ex)
                print(f"  PyTorch DCGAN example's loop, same data and batch: {ex:.0f} images/s, waiting for its "
                      f"loader {100 * row['example_data_share']:.1f}% of the step; latentlab / example = "
                      f"{row['speedup']:.2f}x")
            report["rows"].append(row)
    print(f"load average {os.getloadavg()[0]:.1f} at the end")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
