"""The microversion tables: schema_for, history, require, and field tables."""
from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from typing import Any

import falcon
import falcon.testing
import pytest

from minova.api import errors, microversion, schemas, versioned
from minova.api.views.fields import OMIT, Field, Fields


def _req(version: str) -> falcon.Request:
    req = falcon.testing.create_req()
    req.context.api_version = microversion.parse(version)
    return req


def test_schema_for_answers_the_newest_row_reached_in_any_order() -> None:
    table = [('2.1', 'a'), ('2.10', 'b'), ('2.9', 'c')]
    assert [versioned.schema_for(_req(v), table) for v in ('2.1', '2.8', '2.9', '2.10',
                                                           '2.104')] == \
        ['a', 'a', 'c', 'b', 'b']
    assert versioned.schema_for(_req('2.9'), list(reversed(table))) == 'c'


@dataclasses.dataclass(frozen=True)
class _Row:
    schema: str
    names: frozenset[str] = frozenset()
    flag: bool = False


def test_history_rows_are_the_previous_plus_a_change() -> None:
    table = versioned.history(_Row('s1', frozenset({'a'})),
                              ('2.5', {'flag': True}),
                              ('2.7', {'schema': 's2', 'names': versioned.added('b', 'c')}))
    assert [v for v, _ in table] == ['2.1', '2.5', '2.7']
    assert versioned.schema_for(_req('2.6'), table) == _Row('s1', frozenset({'a'}), True)
    assert versioned.schema_for(_req('2.7'), table) == _Row('s2', frozenset('abc'), True)
    with pytest.raises(TypeError):   # a change naming no field fails at import time
        versioned.history(_Row('s'), ('2.2', {'nope': 1}))


def test_require_is_a_404_for_a_none_row() -> None:
    table = [('2.1', 'here'), ('2.36', None)]
    assert versioned.require(_req('2.35'), table) == 'here'
    with pytest.raises(errors.HTTPFault) as e:
        versioned.require(_req('2.36'), table)
    assert e.value.code == 404


def test_fields_since_until_shapes_and_omit() -> None:
    fields: Fields[dict[str, Any]] = Fields(
        Field('2.1', 'a', lambda r: r['a']),
        Field('2.1', 'b', lambda r: 'old', until='2.5'),
        Field('2.5', 'b', lambda r: 'new'),
        Field('2.3', 'c', lambda r: OMIT if r['hide'] else 'c', frozenset({'full'})),
    )
    row = {'a': 1, 'hide': False}
    assert fields.render(_req('2.1'), row, 'full') == {'a': 1, 'b': 'old'}
    assert fields.render(_req('2.4'), row, 'full') == {'a': 1, 'b': 'old', 'c': 'c'}
    assert fields.render(_req('2.4'), row, 'brief') == {'a': 1, 'b': 'old'}
    assert fields.render(_req('2.5'), dict(row, hide=True), 'full') == {'a': 1, 'b': 'new'}


def _tables() -> list[tuple[str, Any]]:
    found = []
    for info in pkgutil.iter_modules(schemas.__path__):
        module = importlib.import_module(f'{schemas.__name__}.{info.name}')
        for name, value in vars(module).items():
            if name.isupper() and isinstance(value, list) and value \
                    and all(isinstance(r, tuple) and len(r) == 2 for r in value):
                found.append((f'{info.name}.{name}', value))
    return found


@pytest.mark.parametrize(('name', 'table'), _tables())
def test_every_schema_table_starts_at_21_and_stays_in_range(name: str, table: Any) -> None:
    versions = [microversion.parse(v) for v, _ in table]
    assert microversion.MIN in versions, name
    assert all(microversion.MIN <= v <= microversion.MAX for v in versions), name
    assert len(set(versions)) == len(versions), name
