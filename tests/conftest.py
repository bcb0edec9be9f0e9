import os
import tempfile

# Set before anything imports Qt or opens a cache: tests never touch the user's cache or screen.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("LATENTLAB_CACHE", tempfile.mkdtemp(prefix="latentlab-test-cache-"))
