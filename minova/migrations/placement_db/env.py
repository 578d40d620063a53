"""Alembic environment of the placement_db schema."""
from alembic import context

from minova.db import migration
from minova.placement.tables import metadata

migration.run_env(context, metadata)
