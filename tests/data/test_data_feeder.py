import numpy as np
import pytest
import torch

from latentlab.config import UserError
from latentlab.data import BatchFeeder, ImageSet


def _numbered(n=40, size=4, holdout=8):
    """Image i is filled with the value 3*i, so a batch tells which images it holds."""
    images = np.repeat((np.arange(n, dtype=np.uint8) * 3)[:, None, None, None], size * size * 3, axis=1)
    images = images.reshape(n, size, size, 3).copy()
    images[:, 0, 0, 1] = 255  # a channel that differs, to check the channel order
    return ImageSet(images=images, labels={}, skipped=0, fingerprint="test", spec="test", holdout=holdout)


def _ids(x):
    return torch.round((x[:, 0, 1, 1] + 1) * 127.5 / 3).long().tolist()


def test_batches_depend_only_on_seed_and_step():
    s = _numbered()
    a, b = BatchFeeder(s, 8, seed=5), BatchFeeder(s, 8, seed=5)
    for step in (0, 3, 7, 2, 11, 0):  # any order: nothing depends on what was asked before
        assert torch.equal(a.get(step), b.get(step))
    assert not torch.equal(BatchFeeder(s, 8, seed=6).get(0), a.get(0))
    # Exactly the contract's order: epoch e is Generator(seed + e).permutation(training images).
    perm = np.random.default_rng(5 + 1).permutation(32)
    assert _ids(a.get(4 + 2)) == perm[16:24].tolist()


def test_epochs_are_permutations_of_training_images_only():
    s = _numbered(n=45, holdout=8)  # 37 training images: batch 8 -> 4 steps, 5 left over per epoch
    f = BatchFeeder(s, 8, seed=0)
    assert f.steps_per_epoch == 4 and f.train_count == 37
    epochs = []
    for e in range(3):
        ids = [k for i in range(4) for k in _ids(f.get(e * 4 + i))]
        assert len(ids) == len(set(ids)) == 32
        assert max(ids) < 37  # the held-out tail (37..44) never appears
        epochs.append(ids)
    assert epochs[0] != epochs[1] != epochs[2]


def test_values_layout_and_range():
    s = _numbered()
    f = BatchFeeder(s, 8, seed=1)
    x = f.get(0)
    assert x.dtype == torch.float32 and x.shape == (8, 3, 4, 4) and x.device.type == "cpu"
    assert x.is_contiguous(memory_format=torch.channels_last)
    idx = f.indices(0)
    expected = torch.from_numpy(s.images[idx].astype(np.float32) / 127.5 - 1).permute(0, 3, 1, 2)
    assert torch.allclose(x, expected, atol=1e-6)
    assert x.min() >= -1 and x.max() <= 1 and x[:, 1, 0, 0].eq(1).all()
    plain = BatchFeeder(s, 8, seed=1, channels_last=False).get(0)
    assert plain.is_contiguous() and torch.equal(plain, x)
    full = ImageSet(images=np.array([[[[0, 255, 0]]]] * 4, np.uint8), labels={}, skipped=0, fingerprint="",
                    spec="t", holdout=0)
    y = BatchFeeder(full, 4, seed=0).get(0)
    assert y[:, 0].eq(-1).all() and y[:, 1].eq(1).all()


def test_a_kept_batch_is_not_overwritten_by_the_next():
    s = _numbered()
    f = BatchFeeder(s, 8, seed=2)
    first = f.get(0)
    copy = first.clone()
    f.get(1)
    f.get(2)
    assert torch.equal(first, copy)


def test_holdout_batch_is_the_first_held_out_images():
    s = _numbered(n=40, holdout=8)
    f = BatchFeeder(s, 8, seed=0)
    assert _ids(f.holdout_batch(3)) == [32, 33, 34]
    assert f.holdout_batch(100).shape[0] == 8
    none = BatchFeeder(_numbered(holdout=0), 8, seed=0)
    assert _ids(none.holdout_batch(4)) == [0, 1, 2, 3]  # nothing held out: the first images stand in


def test_too_few_images_for_one_batch_is_a_user_error():
    with pytest.raises(UserError, match="fewer than one batch"):
        BatchFeeder(_numbered(n=12, holdout=6), 8, seed=0)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("on_device, placement", [(True, "resident"), (False, "prefetch")])
@pytest.mark.parametrize("augment", [False, True])
def test_cuda_paths_match_cpu(on_device, placement, augment):
    s = _numbered(n=64, size=8)
    aug = {"hflip": augment, "jitter": 2 if augment else 0}
    cpu = BatchFeeder(s, 8, seed=3, device="cpu", **aug)
    gpu = BatchFeeder(s, 8, seed=3, device="cuda", on_device=on_device, **aug)
    assert gpu.placement == placement  # data.on_device = false turns the resident set off
    for step in (0, 1, 2, 5, 9, 10):
        x = gpu.get(step)
        assert x.device.type == "cuda" and x.is_contiguous(memory_format=torch.channels_last)
        assert torch.allclose(x.cpu(), cpu.get(step))
    assert torch.allclose(gpu.holdout_batch(4).cpu(), cpu.holdout_batch(4))


def test_device_conversion_path_matches_the_cpu_path():
    """The one-op conversion used on GPUs, run on CPU tensors: same values and layout as get()."""
    s = _numbered()
    f = BatchFeeder(s, 8, seed=4)
    u8 = torch.from_numpy(s.images[f.indices(3)].copy())
    x = f._to_float(u8)
    assert x.dtype == torch.float32 and x.is_contiguous(memory_format=torch.channels_last)
    assert torch.allclose(x, f.get(3), atol=1e-6)


PLACEMENTS = ["host", "resident", "prefetch"]


@pytest.mark.parametrize("placement", PLACEMENTS)
def test_every_placement_gives_the_same_batches_in_any_order(placement):
    """The GPU's two data paths (the set kept on the device; pinned prefetch one step ahead) run on
    the CPU here: batch for batch the same as the host path, also when asked out of turn."""
    s = _numbered(n=64, size=8)
    ref = BatchFeeder(s, 8, seed=3)
    f = BatchFeeder(s, 8, seed=3, placement=placement)
    assert f.placement == placement and f.resident == (placement == "resident")
    for step in (0, 1, 2, 3, 9, 4, 5, 5, 0, 6):  # runs in turn, a jump, a repeat, back to the start
        x = f.get(step)
        assert x.is_contiguous(memory_format=torch.channels_last)
        # numpy's and torch's conversions to float may round the last bit apart; the pixels are the same
        assert torch.allclose(x, ref.get(step), atol=1e-6), (placement, step)
    assert torch.allclose(f.holdout_batch(4), ref.holdout_batch(4), atol=1e-6)
    if placement == "prefetch":
        assert f._prefetch.hits == 4  # steps 1, 2, 3 and the first 5 were on their way when asked for
        f._prefetch.close()


def test_a_prefetched_batch_is_not_overwritten_by_the_next_ones():
    f = BatchFeeder(_numbered(n=64, size=8), 8, seed=2, placement="prefetch")
    first = f.get(0)
    copy = first.clone()
    for step in range(1, 6):
        f.get(step)
    assert torch.equal(first, copy)
    f._prefetch.close()


@pytest.mark.parametrize("placement", PLACEMENTS)
def test_flips_and_crops_are_a_function_of_seed_and_step(placement):
    s = _numbered(n=64, size=8)
    s.images[:] = np.random.default_rng(0).integers(0, 256, s.images.shape, dtype=np.uint8)
    plain = BatchFeeder(s, 8, seed=5)
    f = BatchFeeder(s, 8, seed=5, hflip=True, jitter=2, placement=placement)
    host = BatchFeeder(s, 8, seed=5, hflip=True, jitter=2)
    rows, cols = f.augmentation(3)
    u8 = s.images[f.indices(3)]
    expected = np.stack([u8[i][rows[i]][:, cols[i]] for i in range(8)])
    x = f.get(3)
    assert torch.allclose(x, host.get(3), atol=1e-6)  # every placement: the same pixels
    assert torch.allclose(x, torch.from_numpy(expected.astype(np.float32) / 127.5 - 1).permute(0, 3, 1, 2),
                          atol=1e-6)
    assert torch.equal(f.get(3), x) and not torch.equal(x, plain.get(3))
    # The draws: shifts within ±2 (edges repeated), about half mirrored, different at every step.
    mirrored = cols[:, 0] > cols[:, -1]
    shifts = np.where(mirrored[:, None], 7 - cols, cols) - np.arange(8)
    assert np.abs(shifts).max() <= 2 and np.abs(rows - np.arange(8)).max() <= 2
    draws = [f.augmentation(k)[1] for k in range(20)]
    assert 0.25 < np.mean([(c[:, 0] > c[:, -1]).mean() for c in draws]) < 0.75
    assert not np.array_equal(draws[0], draws[1])
    if f._prefetch is not None:
        f._prefetch.close()


def test_jitter_is_bounded_by_the_config():
    from latentlab.config import ConfigError, load_preset

    cfg = load_preset("tiny")
    cfg.data.jitter = 9  # a quarter of 32 px is 8
    with pytest.raises(ConfigError, match="data.jitter"):
        cfg.validate()
    cfg.data.jitter, cfg.data.hflip, cfg.data.on_device = 8, True, False
    cfg.validate()


@pytest.mark.parametrize("augment", [False, True])
def test_another_device_gets_host_batches_copied_to_it(augment):
    """MPS (here the shape-only meta device stands in): gathered on the host, then copied."""
    f = BatchFeeder(_numbered(), 8, seed=0, device="meta", hflip=augment, jitter=augment)
    assert f.placement == "host"
    x = f.get(0)
    assert x.device.type == "meta" and x.shape == (8, 3, 4, 4) and x.dtype == torch.float32
    assert f.holdout_batch(3).device.type == "meta"
