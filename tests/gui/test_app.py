"""Application start-up: garbage collection runs on the GUI thread only."""

import gc
import threading


def test_garbage_is_collected_on_the_gui_thread_only(qtbot):
    from latentlab.gui.app import make_application

    make_application()
    assert not gc.isenabled()
    threads = []

    def record(phase, info):
        if phase == "start":
            threads.append(threading.get_ident())

    gc.callbacks.append(record)
    try:
        def make_cycles():
            for _ in range(20_000):
                a, b = [], []
                a.append(b)
                b.append(a)

        worker = threading.Thread(target=make_cycles)
        worker.start()
        worker.join(60)
        assert threads == []  # the worker allocated far past gc's threshold, and nothing ran there
        qtbot.waitUntil(lambda: bool(threads), timeout=10000)
        assert set(threads) == {threading.main_thread().ident}
    finally:
        gc.callbacks.remove(record)
