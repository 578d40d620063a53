"""tools/minova-* scripts (no .py suffix) imported as modules for unit tests."""
from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]


def load_tool(name: str) -> ModuleType:
    path = str(REPO / 'tools' / name)
    loader = importlib.machinery.SourceFileLoader(name.replace('-', '_') + '_tool', path)
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[loader.name] = module
    loader.exec_module(module)
    return module
