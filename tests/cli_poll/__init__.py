"""The directory whose sitecustomize.py makes the command-line clients'
`--wait`/`--poll` look every 0.25 s (see there); tests/conftest.py puts it
on PYTHONPATH for every process the tests start."""
from __future__ import annotations

import os

DIR = os.path.dirname(os.path.abspath(__file__))


def pythonpath(*entries: str) -> str:
    """A PYTHONPATH of `entries` followed by this directory."""
    return os.pathsep.join([*entries, DIR])
