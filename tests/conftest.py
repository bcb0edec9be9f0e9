import atexit
import os
import shutil
import tempfile

# Set before anything imports Qt or opens a cache: tests never touch the user's cache or screen.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# One compute thread per process: tests run training, render and export workers side by side (and
# subprocesses), and OpenMP threads spinning against each other on two cores cost far more than
# they bring. Set before torch is imported.
os.environ.setdefault("OMP_NUM_THREADS", "1")
if "LATENTLAB_CACHE" not in os.environ:
    os.environ["LATENTLAB_CACHE"] = tempfile.mkdtemp(prefix="latentlab-test-cache-")
    atexit.register(shutil.rmtree, os.environ["LATENTLAB_CACHE"], True)


import pytest  # after the environment above, which must be set before torch loads


@pytest.fixture(scope="session")
def tiny_cli_run(tmp_path_factory):
    """A tiny DCGAN run of 6 steps (checkpoints at 3 and 6) made by `latentlab train`; copy before changing it."""
    from latentlab.cli import main
    from tests.train.helpers import cli_args

    run = tmp_path_factory.mktemp("tiny-cli-run") / "run"
    assert main(["train", *cli_args("dcgan", steps=6), "--out", str(run)]) == 0
    return run


@pytest.fixture
def run_copy(tiny_cli_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(tiny_cli_run, copy)
    return copy


@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    yield
    os.umask(old)
