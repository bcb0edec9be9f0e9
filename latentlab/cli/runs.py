"""`latentlab presets`, `import-dcgan`, `tensorboard`, `metrics` and `export`: commands about runs and
checkpoints as files."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from latentlab.cli.common import check_out_folder, checked_output
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
