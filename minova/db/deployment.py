"""The identity of a deployment: one uuid per cell database, made with its schema.

A compute agent records it (with its host) in every guest it creates and
touches only guests that carry both, so two deployments sharing one
hypervisor leave each other's guests alone.
"""
from __future__ import annotations

import sqlalchemy as sa

from minova.db import engines
from minova.db.main_tables import deployment


def get_id(url: str) -> str:
    """The deployment uuid recorded in the cell DB at url (it never changes)."""
    with engines.reader(url) as conn:
        return conn.execute(sa.select(deployment.c.uuid).order_by(deployment.c.id)
                            .limit(1)).scalar_one()
