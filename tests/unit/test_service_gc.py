"""Once a process's services are up (common.wait_for_signal), what start-up
made is kept out of the garbage collector's full collections, and young
collections come every common.GC_FIRST_THRESHOLD new objects."""
from __future__ import annotations

import gc
import os
import signal
import threading

from minova.cmd import common


def test_objects_alive_once_up_are_frozen_and_stop_still_runs() -> None:
    gc.unfreeze()
    before = gc.get_freeze_count()
    thresholds = gc.get_threshold()
    stopped: list[bool] = []
    old_term, old_int = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM)).start()
    try:
        common.wait_for_signal(lambda: stopped.append(True))
        frozen = gc.get_freeze_count()
        tuned = gc.get_threshold()
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
        signal.signal(signal.SIGTERM, old_term)
        signal.signal(signal.SIGINT, old_int)
    assert stopped == [True]
    assert before == 0 and frozen > 0
    assert tuned == (common.GC_FIRST_THRESHOLD, *thresholds[1:])
    assert common.GC_FIRST_THRESHOLD > thresholds[0]
