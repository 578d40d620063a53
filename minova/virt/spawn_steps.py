"""Timed steps of a driver's spawn, for the boot timeline.

A driver times the steps of a spawn (image download, disks, config drive,
domain define and start) under the server's uuid; the compute manager takes
them once the spawn is done and records them as events of the server's
'create' action beside compute_spawn, in the ACTIVE update it already makes
(no extra round trip). `minova-manage server timeline UUID` lists them.
"""
from __future__ import annotations

import contextlib
import datetime
import threading
from collections import OrderedDict
from collections.abc import Iterator

from minova import utils

Step = tuple[str, datetime.datetime, datetime.datetime]

# Spawns whose steps nobody took (a failed build) are forgotten oldest first.
KEPT = 64


class StepClock:
    def __init__(self) -> None:
        self._steps: OrderedDict[str, list[Step]] = OrderedDict()
        self._lock = threading.Lock()

    def start(self, uuid: str) -> None:
        """Steps timed under uuid from here on belong to this spawn."""
        with self._lock:
            self._steps[uuid] = []
            while len(self._steps) > KEPT:
                self._steps.popitem(last=False)

    @contextlib.contextmanager
    def step(self, uuid: str, name: str) -> Iterator[None]:
        """Time one step (kept only while a spawn of uuid is recording)."""
        start = utils.utcnow()
        try:
            yield
        finally:
            with self._lock:
                steps = self._steps.get(uuid)
                if steps is not None:
                    steps.append((name, start, utils.utcnow()))

    def pop(self, uuid: str) -> list[Step]:
        with self._lock:
            return self._steps.pop(uuid, [])
