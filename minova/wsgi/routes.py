"""Route tables: {path: {HTTP method: handler}} made into falcon resources."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import falcon

Handler = Callable[..., Any]


def resource(methods: dict[str, Handler]) -> object:
    """A falcon resource whose on_<method> responders are the handlers."""
    attrs = {f'on_{m.lower()}': staticmethod(fn) for m, fn in methods.items()}
    return type('Route', (), attrs)()


def add(app: falcon.App, table: Iterable[tuple[str, dict[str, Handler]]]) -> None:
    for path, methods in table:
        app.add_route(path, resource(methods))
