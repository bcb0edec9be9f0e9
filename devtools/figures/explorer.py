"""Render the Explore panel (offscreen) to a PNG for the docs: docs/images/explore-panel.png.

Opens the embedded demo model (or CKPT), sets keyframes A and B, and with a VAE/GAN encodes a
held-out training image and pushes one attribute slider, so every part of the panel shows something.

    .venv/bin/python -m devtools.figures.explorer [--checkpoint CKPT] [--out docs/images/explore-panel.png]
        [--size 1024x700] [--tabs]      # --tabs: also OUT-train.png and OUT-record.png at that size
        [--run RUN_DIR]                  # with --tabs: the Train tab shows this run, attached
        [--photo PHOTO [--refine]]       # the photo journey instead: PHOTO found (and refined) in the latent space
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", help="default: the embedded demo model")
    ap.add_argument("--out", default=str(ROOT / "docs" / "images" / "explore-panel.png"))
    ap.add_argument("--seeds", default="3,8", help="keyframes A,B")
    ap.add_argument("--attribute", default="smiling")
    ap.add_argument("--amount", type=float, default=1.5)
    ap.add_argument("--size", default="1440x900", help="window size WxH")
    ap.add_argument("--tabs", action="store_true", help="also grab the Train and Record tabs")
    ap.add_argument("--run", help="with --tabs: attach this finished run in the Train tab first")
    ap.add_argument("--photo", help="show the photo journey with this photo instead")
    ap.add_argument("--refine", action="store_true", help="with --photo: also search from the encoder's answer")
    args = ap.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))

    import latentlab.gui  # noqa: F401
    from latentlab.gui.app import dispose, make_application
    from latentlab.gui.settings import use_settings_dir

    use_settings_dir(tempfile.mkdtemp(prefix="latentlab-shot-"))  # never the user's saved layout
    app = make_application()
    from latentlab.gui.main_window import MainWindow
    from latentlab.latent import seed_latent

    window = MainWindow()
    window.persist = False
    window.resize(width, height)
    window.show()
    panel = window.explore_panel

    def wait(ready, timeout_s=120.0) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            app.processEvents()
            if ready():
                return True
            time.sleep(0.01)
        return False

    if args.checkpoint:
        panel.open_checkpoint(args.checkpoint)
    window.tabs.setCurrentWidget(panel)  # first shown: opens the demo unless a checkpoint was asked for
    if not wait(lambda: panel.info is not None):
        print(f"latentlab: error: no model loaded ({panel.banner.text() or 'no demo model'})", file=sys.stderr)
        return 1
    wait(lambda: panel.state.principal is not None)
    if args.photo:
        return photo_journey(app, window, panel, args, wait)
    a, b = (int(s) for s in args.seeds.split(","))
    nz = panel.state.latent_dim
    panel.set_keyframe("A", seed_latent(a, nz), f"seed {a}")
    panel.set_keyframe("B", seed_latent(b, nz), f"seed {b}")
    if panel.info.has_encoder and panel.recon.pick_button.isEnabled():
        panel.encode_training_image(panel.recon.index.value())
        wait(lambda: panel.state.photo is not None)
        if args.attribute in panel.attributes.names:
            row = panel.attributes.names.index(args.attribute)
            panel.attributes.sliders[row].setValue(round(args.amount * 100))
            panel.tabs.setCurrentIndex(2)
    else:
        panel.randomize(a)
        if panel.principal.count():
            panel.principal.sliders[0].setValue(150)
        panel.tabs.setCurrentIndex(1)
    wait(lambda: panel.view.painted_id == panel.last_request and panel.keyframes.strip.frames() is not None)
    wait(lambda: False, 0.5)  # the last layout pass and paints
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    ok = window.grab().save(str(out))
    if args.tabs:
        if args.run:
            train = window.train_panel
            if not train.attach(args.run):
                print(f"latentlab: error: cannot attach {args.run}", file=sys.stderr)
                return 1
            wait(lambda: train.series.last_step() > 0 and train.grid.count() > 0, 60)
            train.view_tabs.setCurrentIndex(0)
        record = window.record_panel
        record.add_current_latent()  # the edited photo, then four seeds: a walk to preview
        record.add_random(4, a)
        for name, tab in (("train", window.train_panel), ("record", record)):
            window.tabs.setCurrentWidget(tab)
            wait(lambda: False, 0.5)
            if tab is record:
                wait(lambda: record.preview_frames is not None and not record.preview.busy, 60)
                wait(lambda: False, 0.5)
            ok = window.grab().save(str(out.with_name(f"{out.stem}-{name}{out.suffix}"))) and ok
    dispose(window)
    print(f"latentlab: wrote {out}" if ok else f"latentlab: error: cannot write {out}", file=sys.stderr)
    return 0 if ok else 1


def photo_journey(app, window, panel, args, wait) -> int:
    from latentlab.gui.app import dispose

    page = panel.photo
    window.drop_path(args.photo)  # as a drop anywhere on the window would
    wait(lambda: page.faces_view.pixels is not None and not page.running and page.result.array() is not None
         or page.target is None and "No face" in page.status.text())
    if args.refine and page.find_button.isEnabled():
        page.find()
        wait(lambda: not page.running, 600)
    wait(page.verdict.isVisible, 120)
    wait(lambda: False, 0.5)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    ok = window.grab().save(str(out))
    print(f"latentlab: {page.status.text()} | {page.verdict.text()}", file=sys.stderr)
    dispose(window)
    print(f"latentlab: wrote {out}" if ok else f"latentlab: error: cannot write {out}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
