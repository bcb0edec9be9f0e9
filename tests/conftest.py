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
