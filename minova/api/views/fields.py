"""Response bodies as tables of (version, field, getter) rows.

A body is the rows the request's microversion reaches: each row names the
first microversion with the field (`since`), the first one without it
(`until`, for fields a version removed), the field, its getter, and the
bodies of the family ("shapes": list or detail, PUT or GET...) it is part of.
A getter answers OMIT for "no such field in this body" (a policy says no, a
state hides it). Adding a field in a microversion is adding a row.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import falcon

from minova.api import microversion, versioned

C = TypeVar('C')

OMIT: Any = object()   # a getter's answer for "no such field in this body"


@dataclass(frozen=True)
class Field(Generic[C]):
    since: str
    name: str
    get: Callable[[C], Any]
    shapes: frozenset[str] | None = None   # None: every body of the family
    until: str | None = None


class Fields(Generic[C]):
    """A family's field table; renders a body from a getter context `C`."""

    def __init__(self, *fields: Field[C]) -> None:
        self.fields = fields
        # (version, shape) -> the rows it shows: worked out once, not per item
        self._visible: dict[tuple[microversion.Version, str | None],
                            tuple[Field[C], ...]] = {}

    def visible(self, at: microversion.Version, shape: str | None = None
                ) -> tuple[Field[C], ...]:
        key = (at, shape)
        found = self._visible.get(key)
        if found is None:
            found = self._visible[key] = tuple(
                f for f in self.fields
                if versioned.parse(f.since) <= at
                and (f.until is None or at < versioned.parse(f.until))
                and (shape is None or f.shapes is None or shape in f.shapes))
        return found

    def render(self, req: falcon.Request, context: C, shape: str | None = None
               ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in self.visible(versioned.version(req), shape):
            value = f.get(context)
            if value is not OMIT:
                out[f.name] = value
        return out
