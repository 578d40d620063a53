"""Backbone (scheduler, conductor, compute, cells) on real SQLite DBs and fakes.

Placement and the RPC clients are replaced by small in-memory fakes (fakes.py);
the API DB and the cell DBs are real SQLite files created by the migrations.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from minova.cells import lookup, mappings
from minova.conf import CONF
from minova.context import RequestContext
from minova.db import engines
from tests import db_templates
from tests.unit.backbone.fakes import DBs


@pytest.fixture
def flags() -> Iterator[Any]:
    """flags(name, value, group=None): a CONF override undone after the test."""
    done: list[tuple[str, str | None]] = []

    def set_flag(name: str, value: Any, group: str | None = None) -> None:
        CONF.set_override(name, value, group=group)
        done.append((name, group))

    yield set_flag
    for name, group in reversed(done):
        CONF.clear_override(name, group=group)


@pytest.fixture
def empty_dbs(tmp_path: Any) -> Iterator[dict[str, str]]:
    """Migrated API and cell DBs with no cell mapping at all."""
    api_url = f'sqlite:///{tmp_path}/api.sqlite'
    cell_url = f'sqlite:///{tmp_path}/cell1.sqlite'
    CONF.set_override('connection', api_url, group='api_database')
    CONF.set_override('connection', cell_url, group='database')
    CONF.set_override('state_path', str(tmp_path))
    db_templates.migrated('api_db', api_url)
    db_templates.migrated('main_db', cell_url)
    lookup.reset()
    yield {'api': api_url, 'cell': cell_url, 'tmp': str(tmp_path)}
    engines.dispose_all()
    CONF.clear_override('connection', group='api_database')
    CONF.clear_override('connection', group='database')
    CONF.clear_override('state_path')
    lookup.reset()


@pytest.fixture
def dbs(empty_dbs: dict[str, str], tmp_path: Any) -> DBs:
    """API DB + cell1 (this service's [database]) + cell0, all mapped."""
    cell0_url = f'sqlite:///{tmp_path}/cell0.sqlite'
    db_templates.migrated('main_db', cell0_url)
    cell0 = mappings.cell_create('cell0', 'none:///', cell0_url, uuid=mappings.CELL0_UUID)
    cell1 = mappings.cell_create('cell1', 'fake:/', empty_dbs['cell'])
    lookup.reset()
    return DBs(api=empty_dbs['api'], cell=empty_dbs['cell'], cell0=cell0_url, cell1=cell1,
               cell0_mapping=cell0, tmp=tmp_path)


@pytest.fixture
def ctx() -> RequestContext:
    return RequestContext(user_id='user1', project_id='proj1', roles=['member'])


