"""Migrated SQLite databases for tests, without running the migrations each time.

Each schema (api_db, main_db, placement_db) is migrated once per test run
into a template file; every test gets a copy. Running alembic for every DB
of every test was more than half of the unit tier's time.
"""
from __future__ import annotations

import os
import shutil
import tempfile

from minova.db import engines, migration

_templates: dict[str, str] = {}


def migrated(kind: str, url: str) -> None:
    """Make the SQLite database at url hold kind's schema at head."""
    assert url.startswith('sqlite:///'), url
    template = _templates.get(kind)
    if template is None:
        template = os.path.join(tempfile.mkdtemp(prefix='minova-schema-'), f'{kind}.sqlite')
        template_url = 'sqlite:///' + template
        migration.upgrade(kind, template_url)
        engines.get_engine(template_url).dispose()
        _templates[kind] = template
    shutil.copyfile(template, url[len('sqlite:///'):])
