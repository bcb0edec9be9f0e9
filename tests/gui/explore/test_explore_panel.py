"""The Explore panel, driven through its real widgets (offscreen Qt, tiny generators)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from torch import nn

from latentlab.config import Config, ModelConfig
from latentlab.gui.state.loading import MODEL, WEIGHTS
from latentlab.latent import load_bookmarks, seed_latent
from latentlab.models import build_models
from latentlab.resources import demo_checkpoint
from latentlab.run.checkpoint import load_model, save_checkpoint
from latentlab.run.grids import to_uint8
from tests.devices import DEVICES

NZ = 8

DEMO = demo_checkpoint()


def vivid(net: nn.Module, seed: int = 0) -> nn.Module:
    """Weights large enough that a tiny net's images vary (DCGAN's N(0, 0.02) at width 4 renders flat grey,
    which would make every pixel comparison vacuous), and BatchNorm statistics that are not the identity."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.ConvTranspose2d, nn.Conv2d, nn.Linear)):
                w = m.weight
                fan_in = w.shape[0] * w.shape[2] * w.shape[3] / 4 if isinstance(m, nn.ConvTranspose2d) else w[0].numel()
                w.copy_(torch.randn(w.shape, generator=gen) * 1.5 / fan_in ** 0.5)
            elif isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=gen) * 0.1)
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)
    return net


def make_checkpoint(path, arch="dcgan", nz=NZ, seed=0, mutate=None):
    cfg = Config(name="test", model=ModelConfig(arch=arch, image_size=32, latent_dim=nz, g_width=4, d_width=4,
                                                e_width=4))
    cfg.data.synthetic_count, cfg.data.holdout = 64, 8
    torch.manual_seed(seed)
    nets = {name: vivid(net, seed) for name, net in build_models(cfg.model).items()}
    tensors = {f"{name}.{k}": v for name, net in nets.items() for k, v in net.state_dict().items()}
    config = cfg.to_toml()
    if mutate is not None:
        config = mutate(tensors, config)
    save_checkpoint(path, tensors, {"config": config, "arch": arch, "step": 3})
    return path


def reference_netg(nz=NZ, ngf=4) -> nn.Module:
    """The PyTorch DCGAN example's netG layout (a `main` Sequential), 32 px: four transposed convolutions."""
    layers = [nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True)]
    channels = ngf * 4
    for _ in range(2):
        layers += [nn.ConvTranspose2d(channels, channels // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(channels // 2),
                   nn.ReLU(True)]
        channels //= 2
    layers += [nn.ConvTranspose2d(channels, 3, 4, 2, 1, bias=False), nn.Tanh()]
    net = nn.Module()
    net.main = nn.Sequential(*layers)
    return vivid(net, seed=5).eval()


def generator_pixels(G, z) -> np.ndarray:
    with torch.no_grad():
        return to_uint8(G(torch.from_numpy(np.asarray(z, np.float32))[None, :, None, None])).numpy()[0]


@pytest.fixture
def window_panel(window):
    p = window.explore_panel
    p.demo_on_first_show = False
    window.tabs.setCurrentWidget(p)
    yield p
    p.shutdown(3.0)


def load(qtbot, panel, path, how="checkpoint"):
    before = panel.info
    if how == "checkpoint":
        panel.open_checkpoint(path)
    else:
        panel.import_dcgan(path, NZ, 4)
    qtbot.waitUntil(lambda: panel.info is not before, timeout=15000)
    wait_view(qtbot, panel)
    return panel.info


def wait_view(qtbot, panel):
    """Until the newest requested picture is the one on screen (painted, not only received)."""
    qtbot.waitUntil(lambda: panel.last_request >= 0 and panel.view.painted_id == panel.last_request, timeout=10000)
    return panel.view.array()


def test_slider_move_changes_the_image(qtbot, panel, tmp_path):
    info = load(qtbot, panel, make_checkpoint(tmp_path / "g.safetensors"))
    assert panel.dims.count() == NZ and panel.status.text().startswith("render ")
    before = wait_view(qtbot, panel).copy()
    G = load_model(tmp_path / "g.safetensors").G
    np.testing.assert_array_equal(before, generator_pixels(G, panel.state.latent()))
    panel.dims.sliders[0].setValue(-350)
    after = wait_view(qtbot, panel)
    assert panel.state.base[0] == pytest.approx(-3.5)
    assert np.abs(after.astype(int) - before).max() > 20
    np.testing.assert_array_equal(after, generator_pixels(G, panel.state.latent()))
    panel.dims.reset_requested.emit(0)  # the row's ↺ button
    np.testing.assert_array_equal(wait_view(qtbot, panel), before)
    assert panel.info is info


def test_fifty_rapid_moves_render_far_fewer_and_show_the_last(qtbot, panel, tmp_path):
    """While one render is in flight, 49 more moves replace each other in the pending slot: the burst
    costs the render in flight plus one for the newest move, and the newest move is what is shown.
    The first render is held until the burst is queued, so this holds however busy the machine is."""
    load(qtbot, panel, make_checkpoint(tmp_path / "g.safetensors"))
    worker = panel.service.worker
    renderer = worker.info.renderer
    entered, release = threading.Event(), threading.Event()
    real_render = renderer.render

    def held_render(z, threads=None):
        entered.set()
        assert release.wait(30), "the test never released the render"
        return real_render(z, threads)

    renderer.render = held_render
    try:
        renders = worker.renders
        slider = panel.dims.sliders[3]
        slider.setValue(-300)
        qtbot.waitUntil(entered.is_set, timeout=10000)
        for i in range(1, 50):
            slider.setValue(-300 + 12 * i)
    finally:
        release.set()
    wait_view(qtbot, panel)
    assert worker.renders - renders == 2
    assert panel.state.base[3] == pytest.approx(-3.0 + 0.12 * 49)
    expected = real_render(panel.state.latent()).images[0]
    np.testing.assert_array_equal(panel.view.array(), expected)


def test_strip_ends_equal_the_keyframes(qtbot, panel, tmp_path):
    load(qtbot, panel, make_checkpoint(tmp_path / "g.safetensors"))
    panel.set_keyframe("A", seed_latent(11, NZ), "seed 11")
    panel.set_keyframe("B", seed_latent(12, NZ), "seed 12")
    qtbot.waitUntil(lambda: panel.keyframes.strip.frames() is not None, timeout=10000)
    strip = panel.keyframes.strip.frames()
    assert strip.shape == (8, 32, 32, 3)
    panel.keyframes.set_position(1.0)
    at_b = wait_view(qtbot, panel).copy()
    panel.keyframes.set_position(0.0)
    at_a = wait_view(qtbot, panel).copy()
    np.testing.assert_array_equal(strip[0], at_a)
    np.testing.assert_array_equal(strip[-1], at_b)
    assert not np.array_equal(strip[3], at_a) and not np.array_equal(at_a, at_b)
    panel.keyframes.set_position(0.5)
    wait_view(qtbot, panel)
    np.testing.assert_allclose(np.linalg.norm(panel.state.base), np.linalg.norm(panel.state.between(0.5)))


def test_imported_pytorch_dcgan_renders_the_pixels_of_its_module(qtbot, panel, tmp_path):
    ref = reference_netg()
    torch.save(ref.state_dict(), tmp_path / "netG.pth")
    info = load(qtbot, panel, tmp_path / "netG.pth", how="import")
    assert info.kind == "import" and info.latent_dim == NZ and info.image_size == 32
    for seed in (3, 4):
        panel.randomize(seed)
        np.testing.assert_array_equal(wait_view(qtbot, panel), generator_pixels(ref.main, seed_latent(seed, NZ)))
    assert "Unavailable" in panel.recon.reason.text() and not panel.recon.open_button.isEnabled()


def test_cli_import_dcgan_writes_a_checkpoint_that_loads(tmp_path):
    from latentlab.cli import main

    ref = reference_netg()
    torch.save(ref.state_dict(), tmp_path / "netG.pth")
    out = tmp_path / "imported.safetensors"
    assert main(["import-dcgan", str(tmp_path / "netG.pth"), "--out", str(out), "--nz", str(NZ), "--ngf", "4"]) == 0
    model = load_model(out)
    assert model.step == 0 and model.config.model.g_width == 4 and model.E is None
    z = seed_latent(9, NZ)
    np.testing.assert_array_equal(generator_pixels(model.G, z), generator_pixels(ref.main, z))
    assert main(["import-dcgan", str(tmp_path / "netG.pth"), "--out", str(tmp_path / "x.safetensors")]) == 2


def test_bad_inputs_leave_the_previous_model_loaded(qtbot, panel, tmp_path):
    info = load(qtbot, panel, make_checkpoint(tmp_path / "vae.safetensors", arch="vaegan"))
    shown = panel.view.array().copy()

    def refused(action, *needles):
        panel.banner.hide()
        action()
        qtbot.waitUntil(lambda: panel.banner.isVisible() and panel.banner.level == "error", timeout=10000)
        text = panel.banner.text()
        for needle in needles:
            assert needle in text, text
        # A render asked for now is served after every load already queued, and its picture arrives
        # after any model those loads announced: once it is on screen, nothing else can come.
        panel.state.invalidate()
        wait_view(qtbot, panel)
        assert panel.info is info and panel.service.generation == info.generation

    (tmp_path / "notes.jpg").write_text("not an image at all")
    # A dropped photo opens the photo journey, which names the file; Done returns to the view.
    refused(lambda: (panel.drop_path(tmp_path / "notes.jpg"), panel.photo.done_button.click()),
            "notes.jpg", "not an image")
    foreign = make_checkpoint(tmp_path / "foreign.safetensors",
                              mutate=lambda t, c: c.replace('arch = "dcgan"', 'arch = "stylegan9"'))
    refused(lambda: panel.drop_path(foreign), "foreign.safetensors", "stylegan9", "still showing")

    def shrink(tensors, config):
        tensors["G.main.3.weight"] = tensors["G.main.3.weight"][:, :2].contiguous()
        return config
    wrong = make_checkpoint(tmp_path / "wrong.safetensors", mutate=shrink)
    refused(lambda: panel.open_checkpoint(wrong), "wrong.safetensors", "G.main.3.weight")
    bad_pth = reference_netg(ngf=8)
    torch.save(bad_pth.state_dict(), tmp_path / "netG.pth")
    refused(lambda: panel.import_dcgan(tmp_path / "netG.pth", NZ, 4), "netG.pth", "main.0.weight")
    # Still rendering with the model that was there.
    panel.dims.sliders[1].setValue(250)
    assert not np.array_equal(wait_view(qtbot, panel), shown)


def test_vaegan_reconstruction_then_sliders_edit_that_face(qtbot, panel, tmp_path):
    from latentlab.latent import save_attributes

    path = make_checkpoint(tmp_path / "vae.safetensors", arch="vaegan")
    smile = np.linspace(-1, 1, NZ).astype(np.float32)
    save_attributes(tmp_path / "vae.attributes.safetensors", {"smiling": smile, "glasses": -smile})
    info = load(qtbot, panel, path)
    assert panel.attributes.names == ["glasses", "smiling"]
    assert info.has_encoder and panel.recon.open_button.isEnabled() and not panel.recon.reason.isVisible()
    panel.encode_training_image(60)
    qtbot.waitUntil(lambda: panel.state.photo is not None, timeout=10000)
    wait_view(qtbot, panel)
    model = load_model(tmp_path / "vae.safetensors")
    from latentlab.data.synthetic import render_face

    photo = render_face(60, 32)[0]
    np.testing.assert_array_equal(panel.recon.input.array(), photo)
    with torch.no_grad():
        mu = model.E(torch.from_numpy(photo).permute(2, 0, 1)[None].float() / 127.5 - 1)[0][0].numpy()
    np.testing.assert_allclose(panel.state.origin, mu, atol=1e-4)
    np.testing.assert_array_equal(panel.recon.edited.array(), panel.recon.reconstruction.array())
    panel.dims.sliders[2].setValue(390)
    edited = wait_view(qtbot, panel)
    np.testing.assert_array_equal(panel.recon.edited.array(), edited)
    assert not np.array_equal(edited, panel.recon.reconstruction.array())
    panel.attributes.sliders[1].setValue(150)  # +1.5 × the smiling vector
    expected = panel.state.base + 1.5 * smile
    np.testing.assert_allclose(panel.state.latent(), expected, atol=1e-6)
    np.testing.assert_array_equal(wait_view(qtbot, panel), panel.info.renderer.render(expected).images[0])


def test_bookmarks_are_kept_and_export_for_walk(qtbot, panel, tmp_path):
    load(qtbot, panel, make_checkpoint(tmp_path / "g.safetensors"))
    panel.randomize(42)
    panel.bookmark_action.trigger()
    panel.dims.sliders[0].setValue(100)
    edited = panel.bookmark_action.trigger() or panel.bookmarks.bookmarks[-1]
    names = [b.name for b in panel.bookmarks.bookmarks]
    assert names == ["seed 42", "bookmark 2"] and edited.seed is None
    from latentlab.gui.explore.bookmarks import bookmarks_file

    stored = load_bookmarks(bookmarks_file(NZ), NZ)
    assert [b.seed for b in stored] == [42, None]
    np.testing.assert_array_equal(stored[0].z, seed_latent(42, NZ))
    assert stored[1].z[0] == pytest.approx(1.0)
    panel.bookmarks.export_to(tmp_path / "marks.json")
    assert len(load_bookmarks(tmp_path / "marks.json", NZ)) == 2
    panel.show_bookmark(stored[0])
    np.testing.assert_array_equal(wait_view(qtbot, panel),
                                  panel.info.renderer.render(seed_latent(42, NZ)).images[0])
    assert panel.save_view(tmp_path / "view.png")
    from PySide6.QtGui import QImage

    assert QImage(str(tmp_path / "view.png")).width() == 256
    panel.copy_action.trigger()
    from PySide6.QtWidgets import QApplication

    assert QApplication.clipboard().image().width() == 256


def test_keyboard_shortcuts_and_file_open_in_the_main_window(qtbot, window_panel, tmp_path, window):
    from PySide6.QtCore import Qt

    panel = window_panel
    assert window.tabs.indexOf(panel) == 1 and "&Explore" in [a.text() for a in window.menuBar().actions()]
    window.tabs.setCurrentWidget(window.train_panel)
    window.open_path(make_checkpoint(tmp_path / "g.safetensors"))  # File › Open checkpoint, `latentlab gui CKPT`
    qtbot.waitUntil(lambda: panel.info is not None, timeout=15000)
    wait_view(qtbot, panel)
    assert window.tabs.currentWidget() is panel
    window.activateWindow()
    panel.setFocus()
    qtbot.waitUntil(panel.hasFocus, timeout=3000)
    seed = panel.seed.value()
    qtbot.keyClick(panel, Qt.Key_R)
    assert panel.seed.value() != seed
    qtbot.keyClick(panel, Qt.Key_A)
    panel.randomize(7)
    qtbot.keyClick(panel, Qt.Key_B)
    assert panel.state.has_keyframes()
    np.testing.assert_array_equal(panel.state.keyframes["B"][0], seed_latent(7, NZ))
    qtbot.keyClick(panel, Qt.Key_B, Qt.ControlModifier)
    assert [b.seed for b in panel.bookmarks.bookmarks] == [7]


def test_principal_directions_computed_in_background_and_cached(qtbot, panel, tmp_path):
    path = make_checkpoint(tmp_path / "g.safetensors")
    load(qtbot, panel, path)
    qtbot.waitUntil(lambda: panel.principal.count() > 0, timeout=20000)
    assert panel.principal.count() == NZ and panel.info.principal_cache.is_file()
    before = wait_view(qtbot, panel).copy()
    panel.principal.sliders[0].setValue(250)
    assert not np.array_equal(wait_view(qtbot, panel), before)
    again = load(qtbot, panel, path)
    assert again.principal is not None  # read from the cache, not recomputed
    np.testing.assert_array_equal(again.principal[0], panel.state.principal)


def test_live_generator_of_a_trainer_is_hot_swapped(qtbot, panel, tmp_path):
    """The Explore panel asks the Workspace for the live weights; a Control passes the request to the
    engine, whose answer comes back through the Workspace: the first answer builds a live model, the
    next one swaps its weights in place (same ModelInfo, same Renderer, WEIGHTS announced, no new MODEL)."""
    from latentlab.run.control import Control
    from latentlab.train.engine import Trainer

    cfg = Config(name="live", model=ModelConfig(arch="dcgan", image_size=32, latent_dim=NZ, g_width=4, d_width=4))
    cfg.data.synthetic_count, cfg.data.holdout, cfg.data.cache_dir = 64, 8, str(tmp_path / "cache")
    cfg.train.batch, cfg.train.steps, cfg.train.device, cfg.train.lr_g = 8, 6, "cpu", 0.05
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny steps: thread hand-offs would cost more than the work on a busy machine
    try:
        control = Control()
        trainer = Trainer(cfg, None, control=control)
        steps = trainer.run()
        _follow_the_trainer(qtbot, panel, control, trainer, steps)
    finally:
        torch.set_num_threads(threads)


def _answer_request(steps):
    """What the Train panel's driver does: run the engine until it answers the request for weights."""
    from latentlab.run.control import WEIGHTS, Event

    return next(item for item in steps if isinstance(item, Event) and item.kind == WEIGHTS).data


def _follow_the_trainer(qtbot, panel, control, trainer, steps):
    ws = panel.workspace
    ws.weights_requested.connect(control.request_weights)  # the Train panel's part, without its thread
    announced = []
    ws.model.changed.connect(announced.append)
    next(s for s in steps if getattr(s, "step", 0) == 2)
    ws.set_training("training")
    panel.link.set_following(True)  # asks at once
    offer = _answer_request(steps)
    assert offer["step"] == 2
    ws.offer_weights(offer)
    qtbot.waitUntil(lambda: panel.info is not None and panel.info.kind == "live", timeout=15000)
    info, renderer = panel.info, panel.info.renderer
    first = wait_view(qtbot, panel).copy()
    G = trainer.generator_for_sampling()
    G.eval()
    np.testing.assert_array_equal(first, generator_pixels(G, panel.state.latent()))
    assert announced == [frozenset({MODEL})]

    next(s for s in steps if getattr(s, "step", 0) == 4)
    relabeled = []
    panel.model_relabeled.connect(relabeled.append)  # the panel's header and Compare follow this
    panel.link.refresh()
    offer = _answer_request(steps)
    assert offer["step"] == 4
    ws.offer_weights(offer)
    qtbot.waitUntil(lambda: "step 4" in panel.model_label.text(), timeout=10000)  # the panel heard of the swap
    assert announced == [frozenset({MODEL}), frozenset({WEIGHTS})]  # a swap, not a second model
    assert panel.info is info and info.renderer is renderer and info.step == 4
    assert relabeled and "step 4" in relabeled[-1].display_label()
    second = wait_view(qtbot, panel)
    G.eval()
    np.testing.assert_array_equal(second, generator_pixels(G, panel.state.latent()))
    assert not np.array_equal(first, second)
    steps.close()


@pytest.mark.parametrize("device", DEVICES)
def test_follow_training_in_the_train_panel(qtbot, window_panel, window, tiny, device):
    """The live generator follows the run: offered by the training worker, and its final checkpoint.
    On CUDA the worker trains on the GPU while the render worker draws the generator it hands over."""
    panel, train = window_panel, window.train_panel
    tiny(train, **{"train.checkpoint_every": 2, "train.steps": 6})
    if device != "cpu":
        train.probe_devices()
        qtbot.waitUntil(lambda: device in train.device.devices(), timeout=20000)
    train.device.set_device(device)
    assert not panel.follow.check.isEnabled()
    train.start_training(paused=True)
    qtbot.waitUntil(lambda: panel.follow.check.isEnabled(), timeout=5000)
    panel.follow.check.setChecked(True)
    train.toggle_pause()  # resume: checkpoints at steps 2, 4, 6
    qtbot.waitUntil(lambda: panel.info is not None and panel.info.kind == "live", timeout=30000)
    qtbot.waitUntil(lambda: train.session is None, timeout=30000)
    assert panel.link.offers >= 1  # the engine answered a request for its generator's weights
    assert train.view.info.text().rsplit(" on ", 1)[-1].startswith(device)
    # The engine hands over CPU copies of the weights between steps: the render thread makes no CUDA
    # call at all, so no slider move waits on the GPU and no two threads share its context.
    assert panel.info.renderer.device.type == "cpu"
    qtbot.waitUntil(lambda: panel.info.step == 6 and "step 6" in panel.model_label.text(), timeout=10000)
    image = wait_view(qtbot, panel)
    G = load_model(train.run_dir / "checkpoints" / "latest.safetensors").G
    np.testing.assert_array_equal(image, generator_pixels(G, panel.state.latent()))


def test_a_run_that_ended_unfollowed_is_offered_to_explore(qtbot, window_panel, window, tiny):
    """Training without "Follow training" leaves the demo on screen; once the run ends, the follow row
    says so and "Explore it" opens the run's last checkpoint (and is then withdrawn)."""
    panel, train = window_panel, window.train_panel
    tiny(train, **{"train.checkpoint_every": 2, "train.steps": 4})
    assert panel.follow.open_finished.isHidden()
    train.start_training()
    qtbot.waitUntil(lambda: train.session is None, timeout=30000)
    run = train.run_dir
    assert not panel.follow.open_finished.isHidden()
    assert run.name in panel.follow.note.text() and "ended" in panel.follow.note.text()
    panel.follow.open_finished.click()
    latest = run / "checkpoints" / "latest.safetensors"
    qtbot.waitUntil(lambda: panel.info is not None and panel.info.path == latest, timeout=20000)
    assert panel.info.step == 4 and panel.follow.open_finished.isHidden()
    np.testing.assert_array_equal(wait_view(qtbot, panel), generator_pixels(load_model(latest).G, panel.state.latent()))
    train.start_training(paused=True)  # a new run: nothing ended, nothing to offer
    qtbot.waitUntil(lambda: train.session is not None, timeout=5000)
    assert panel.follow.open_finished.isHidden() and "ended" not in panel.follow.note.text()
    train.stop_training()
    qtbot.waitUntil(lambda: train.session is None, timeout=30000)


@pytest.mark.skipif(not DEMO.is_file(), reason="the embedded demo model has not been built")
def test_the_embedded_demo_opens_when_the_panel_is_first_shown(qtbot, window):
    panel = window.explore_panel
    window.tabs.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: panel.info is not None, timeout=20000)
    assert panel.info.path == DEMO and panel.info.has_encoder and panel.attributes.count() > 0
    assert panel.recon.open_button.isEnabled()
    wait_view(qtbot, panel)


def test_compare_is_one_menu_command_away(qtbot, panel, monkeypatch):
    """Explore › Compare with another checkpoint… brings the Compare tab forward and asks for the file,
    wherever the tab bar's arrows left it."""
    asked = []
    monkeypatch.setattr(panel.compare, "choose_checkpoint", lambda: asked.append(True))
    panel.tabs.setCurrentIndex(0)
    assert panel.compare_action in panel.menu_actions()[1]
    panel.compare_action.trigger()
    assert panel.tabs.currentWidget() is panel.compare and asked == [True]


def test_nearest_training_images_of_the_face_on_screen(qtbot, panel, tmp_path):
    """Explore › Nearest training images… opens the memorization check for the picture on screen."""
    from latentlab.gui.widgets.nearest import NearestImagesDialog

    load(qtbot, panel, make_checkpoint(tmp_path / "g.safetensors"))
    shown = wait_view(qtbot, panel).copy()
    panel.nearest_action.trigger()
    dialogs = [w for w in panel.findChildren(NearestImagesDialog)]
    assert len(dialogs) == 1
    np.testing.assert_array_equal(dialogs[0].image, shown)
    dialogs[0].close()


def test_renders_use_all_cores_unless_training_runs(qtbot, window_panel, window, tmp_path):
    """The Workspace carries the Train panel's state to the Explore panel: a render runs with one intra-op thread while a
    training runs and with every core otherwise; the picture is the same either way."""
    from latentlab.gui.explore.render_worker import all_cores

    panel = window_panel
    info = load(qtbot, panel, make_checkpoint(tmp_path / "g.safetensors"))
    assert info.renderer.backend in ("onnxruntime", "torch")
    seen = []
    real = info.renderer.render

    def spy(z, threads=None):
        seen.append((threads, torch.get_num_threads()))
        return real(z, threads)

    info.renderer.render = spy
    shown = {}
    for state, threads in (("training", 1), ("paused", all_cores()), ("starting", 1), ("idle", all_cores())):
        window.workspace.set_training(state)  # what the Train panel tells the Workspace
        seen.clear()
        panel.dims.sliders[1].setValue(100 if state in ("training", "starting") else -100)
        shown[state] = wait_view(qtbot, panel).copy()
        assert seen and seen[-1][0] == threads
    np.testing.assert_array_equal(shown["training"], shown["starting"])
    np.testing.assert_array_equal(shown["paused"], shown["idle"])
    G = load_model(tmp_path / "g.safetensors").G
    assert np.abs(shown["paused"].astype(int) - generator_pixels(G, panel.state.latent())).max() <= 1


def test_compare_draws_the_same_latent_with_a_second_checkpoint(qtbot, panel, tmp_path):
    from latentlab.gui.explore.compare import wipe

    load(qtbot, panel, make_checkpoint(tmp_path / "a.safetensors", seed=0))
    compare = panel.compare
    compare.open_checkpoint(make_checkpoint(tmp_path / "b.safetensors", seed=1))
    qtbot.waitUntil(lambda: compare.info is not None and compare.image is not None, timeout=15000)
    G_b = load_model(tmp_path / "b.safetensors").G
    np.testing.assert_array_equal(compare.image, generator_pixels(G_b, panel.state.latent()))
    for value in (-300, 250, 120):  # sliders drive both models; the newest latent is the one B shows
        panel.dims.sliders[1].setValue(value)
    a = wait_view(qtbot, panel)
    qtbot.waitUntil(lambda: compare.idle and compare.shown_z is not None
                    and np.array_equal(compare.shown_z, panel.state.latent()), timeout=15000)
    b = generator_pixels(G_b, panel.state.latent())
    np.testing.assert_array_equal(compare.image, b)
    assert np.abs(a.astype(int) - b).max() > 20  # two different generators, one latent
    compare.mode.setCurrentText("wipe")
    compare.handle.setValue(25)
    shown = compare.view.array()
    np.testing.assert_array_equal(shown, wipe(a, b, 0.25))
    np.testing.assert_array_equal(shown[:, :8], a[:, :8])
    np.testing.assert_array_equal(shown[:, 8:], b[:, 8:])
    # a checkpoint whose latents do not fit is refused with a reason; B stays
    compare.open_checkpoint(make_checkpoint(tmp_path / "c.safetensors", nz=NZ + 2))
    qtbot.waitUntil(lambda: "Not loaded" in compare.label.text(), timeout=15000)
    assert compare.info.path == tmp_path / "b.safetensors"
