import subprocess
import sys


def test_run_package_loads_neither_train_nor_metrics():
    code = ("import sys, pkgutil, importlib, latentlab.run as r\n"
            "names = [i.name for i in pkgutil.iter_modules(r.__path__)]\n"
            "assert {'checkpoint', 'claim', 'control', 'grids', 'lock', 'rundir'} <= set(names), names\n"
            "for n in names: importlib.import_module('latentlab.run.' + n)\n"
            "print(sorted(m for m in sys.modules if m.startswith(('latentlab.train', 'latentlab.metrics'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_metrics_does_not_load_train():
    code = ("import sys, pkgutil, importlib, latentlab.metrics as m\n"
            "for info in pkgutil.iter_modules(m.__path__): importlib.import_module('latentlab.metrics.' + info.name)\n"
            "print(sorted(k for k in sys.modules if k.startswith('latentlab.train')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
