"""`latentlab presets`, `import-dcgan`, `tensorboard`, `metrics` and `export`: commands about runs and
checkpoints as files."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from latentlab.cli.common import add_command, check_out_folder, checked_output, positive_int
from latentlab.config import UserError
from latentlab.run.layout import RunLayout


def cmd_presets(args) -> int:
    from latentlab.config import load_preset, preset_names, preset_summary

    for name in preset_names():
        m = load_preset(name).model
        print(f"{name:14s} {m.arch:13s} {m.image_size:4d} px  {preset_summary(name)}")
    return 0


def cmd_import_dcgan(args) -> int:
    from latentlab.config import Config
    from latentlab.models.dcgan_import import import_dcgan_file
    from latentlab.run.checkpoint import load_model, save_checkpoint

    out = checked_output("--out", args.out, ".safetensors", "latentlab checkpoints are .safetensors files; name one")
    if out.exists() and not args.force:
        raise UserError(f"--out {out}: already exists; name another file or add --force to replace it")
    if out.is_dir():
        raise UserError(f"--out {out}: a folder; name a .safetensors file")
    model_cfg, G = import_dcgan_file(args.netg, nz=args.nz, ngf=args.ngf)
    cfg = Config(name=f"imported-{Path(args.netg).stem}", model=model_cfg).validate()
    tensors = {f"G.{k}": v for k, v in G.state_dict().items()}
    save_checkpoint(out, tensors, {"config": cfg.to_toml(), "arch": model_cfg.arch, "step": 0, "epoch": 0,
                                   "imported_from": str(Path(args.netg).name)})
    load_model(out)  # what the app and `sample` will do with it: proves the file reads back
    print(f"latentlab: wrote {out} ({model_cfg.image_size} px DCGAN generator, nz={model_cfg.latent_dim}, "
          f"ngf={model_cfg.g_width}) from {args.netg}", file=sys.stderr)
    return 0


def cmd_tensorboard(args) -> int:
    from latentlab.run.tbevents import backfill

    for run in args.runs:
        counts = backfill(run)
        print(f"latentlab: {RunLayout(run).tb}: {counts['scalars']} metric rows, {counts['images']} grids, "
              f"{counts['texts']} alerts and settings, {counts['quality']} quality figures", file=sys.stderr)
    print(f"latentlab: open them with: tensorboard --logdir {RunLayout(args.runs[0]).tb}", file=sys.stderr)
    return 0


def cmd_metrics(args) -> int:
    from latentlab.metrics.tracking import Z_SEED, evaluate_checkpoint, report_lines, write_json

    if args.n < 8:
        raise UserError(f"--n {args.n}: at least 8 images are needed for precision/recall")
    if args.json:
        check_out_folder("--json", Path(args.json))
    values = evaluate_checkpoint(args.checkpoint, args.data, n=args.n, fid=args.fid or bool(args.inception),
                                 inception=args.inception, seed=Z_SEED if args.seed is None else args.seed,
                                 progress=lambda stage: print(f"latentlab metrics: {stage}", file=sys.stderr))
    print("\n".join(report_lines(values)))
    if args.json:
        print(f"latentlab: wrote {write_json(args.json, values)}", file=sys.stderr)
    return 0


def cmd_export(args) -> int:
    from latentlab.models.export import export_format, export_onnx, export_torchscript, parse_batch
    from latentlab.run.checkpoint import load_model

    targets = [(flag, Path(path)) for flag, path in (("--onnx", args.onnx), ("--torchscript", args.torchscript),
                                                    ("--encoder", args.encoder)) if path]
    if not any(flag != "--encoder" for flag, _ in targets):
        raise UserError("name what to write: --onnx G.onnx and/or --torchscript G.pt")
    for flag, path in targets:
        fmt = export_format(path)
        if flag != "--encoder" and fmt != flag[2:]:
            raise UserError(f"{flag} {path}: name a {'.onnx' if flag == '--onnx' else '.pt'} file")
        check_out_folder(flag, path)
    batch = parse_batch(str(args.batch))
    model = load_model(args.checkpoint)
    if args.encoder and model.E is None:
        raise UserError(f"--encoder: {args.checkpoint} is a {model.config.model.arch} checkpoint without an "
                        "encoder (only VAE/GANs have one)")
    extra = {"checkpoint": Path(args.checkpoint).name, "step": model.step}
    for flag, path in targets:
        role, net = ("encoder", model.E) if flag == "--encoder" else ("generator", model.G)
        fmt = export_format(path)
        started = time.monotonic()
        if fmt == "onnx":
            export_onnx(net, model.config.model, role, path, batch=batch, extra_meta=extra)
        else:
            export_torchscript(net, model.config.model, role, path, extra_meta=extra)
        print(f"latentlab: wrote the {role} as {'ONNX' if fmt == 'onnx' else 'TorchScript'} to {path} "
              f"in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return 0


def add_presets_parser(sub) -> None:
    add_command(sub, "presets", "list the presets", "latentlab presets")



def add_import_dcgan_parser(sub) -> None:
    i = add_command(sub, "import-dcgan", "convert a PyTorch DCGAN-example netG.pth into a latentlab checkpoint",
                    "latentlab import-dcgan netG_epoch_24.pth --out celeba-dcgan.safetensors",
                    "latentlab import-dcgan netG.pth --out small.safetensors --nz 64 --ngf 32")
    i.add_argument("netg", metavar="NETG.pth", help="a state dict saved by the PyTorch DCGAN example or tutorial")
    i.add_argument("--out", required=True, help="the checkpoint to write (.safetensors)")
    i.add_argument("--nz", type=positive_int, default=100, help="latent size the generator was trained with")
    i.add_argument("--ngf", type=positive_int, default=64, help="generator width it was trained with")
    i.add_argument("--force", action="store_true", help="replace --out if it exists")



def add_tensorboard_parser(sub) -> None:
    tb = add_command(sub, "tensorboard", "write or back-fill TensorBoard event files (RUN/tb/) for runs",
                     "latentlab tensorboard runs/tiny runs/dcgan")
    tb.add_argument("runs", nargs="+", metavar="RUN", help="run directories; each gets RUN/tb/ rebuilt from its logs")



def add_metrics_parser(sub) -> None:
    m = add_command(sub, "metrics", "quality metrics of a checkpoint: precision/recall, FD; FID/KID with --fid",
                    "latentlab metrics runs/tiny/checkpoints/latest.safetensors --n 1000",
                    "latentlab metrics model.safetensors --data celeba:~/celeba --fid --json scores.json")
    m.add_argument("checkpoint", help="a latentlab checkpoint (.safetensors)")
    m.add_argument("--data", help="the real images (default: the source the checkpoint was trained on)")
    m.add_argument("--n", type=positive_int, default=2000, help="generated and real images compared")
    m.add_argument("--seed", type=int, default=None, help="seed of the generated z (default: fixed)")
    m.add_argument("--fid", action="store_true", help="also FID and KID (torchmetrics; needs the Inception weights)")
    m.add_argument("--inception", metavar="PATH", help="the FID Inception weights file "
                   "(weights-inception-2015-12-05-6726825d.pth); default: torch's cache, else downloaded")
    m.add_argument("--json", metavar="FILE", help="also write the values to this JSON file")



def add_export_parser(sub) -> None:
    x = add_command(sub, "export", "export the generator (and a VAE/GAN's encoder) as ONNX or TorchScript",
                    "latentlab export vaegan.safetensors --onnx G.onnx --encoder E.onnx",
                    "latentlab export model.safetensors --onnx G16.onnx --batch 16 --torchscript G.pt")
    x.add_argument("checkpoint", help="a latentlab checkpoint (.safetensors)")
    x.add_argument("--onnx", metavar="G.onnx", help="write the generator as ONNX (needs latentlab[export])")
    x.add_argument("--torchscript", metavar="G.pt", help="write the generator as TorchScript")
    x.add_argument("--encoder", metavar="E.onnx|E.pt", help="also write a VAE/GAN's encoder (mu, logvar); "
                   "the format follows the suffix")
    x.add_argument("--batch", default="dynamic", metavar="dynamic|N",
                   help="batch size of the ONNX graph: any, or a fixed N (TorchScript takes any)")
