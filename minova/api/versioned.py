"""What a URL family does at each compute microversion, as tables.

A table is rows of (first microversion, value), oldest first. `schema_for(req,
table)` answers the value of the newest row the request's version reaches, so
adding a microversion is adding a row, never an `if version >= ...` in a
handler. A family with several facets per version (request schemas, paging,
ids, status codes) keeps them in one frozen dataclass per row and writes each
row as the previous one plus its change (`history`), as Placement's schema
modules write each schema as the previous one plus a change. Response bodies
are tables too: minova/api/views/fields.py.

Where each family's table is: docs/compute-microversions.md.
"""
from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import falcon

from minova.api import errors, microversion

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar('T')
D = TypeVar('D', bound='DataclassInstance')

Schema = dict[str, Any]
Table = Sequence[tuple[str, T]]


@functools.cache
def parse(text: str) -> microversion.Version:
    """A version literal of a table, parsed once."""
    return microversion.parse(text)


def version(req: falcon.Request) -> microversion.Version:
    """The request's microversion (MicroversionMiddleware negotiated it)."""
    found: microversion.Version = req.context.api_version
    return found


def schema_for(req: falcon.Request, table: Table[T]) -> T:
    """The value of the newest row whose version the request reaches.

    Every table has a '2.1' row, so every request reaches one.
    """
    asked = version(req)
    found: tuple[microversion.Version, T] | None = None
    for first, value in table:
        at = parse(first)
        if at <= asked and (found is None or at > found[0]):
            found = (at, value)
    if found is None:
        raise ValueError(f'microversion table without a row for {asked}')
    return found[1]


def require(req: falcon.Request, table: Table[T | None]) -> T:
    """schema_for, where a None row is a method that does not exist at that
    version: 404, as Nova answers."""
    value = schema_for(req, table)
    if value is None:
        raise errors.not_found()
    return value


@dataclasses.dataclass(frozen=True)
class Added:
    """A change that adds members to a frozenset field (filters a version allows)."""

    items: frozenset[str]


def added(*items: str) -> Added:
    return Added(frozenset(items))


def history(first: D, *changes: tuple[str, Mapping[str, Any]]) -> list[tuple[str, D]]:
    """A table from the 2.1 row and, per later microversion, the fields it changes
    (an `added(...)` value grows the previous row's set)."""
    rows: list[tuple[str, D]] = [('2.1', first)]
    for at, change in changes:
        previous = rows[-1][1]
        values = {name: getattr(previous, name) | value.items if isinstance(value, Added)
                  else value for name, value in change.items()}
        rows.append((at, dataclasses.replace(previous, **values)))
    return rows

