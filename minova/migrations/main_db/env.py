"""Alembic environment of the main_db schema."""
from alembic import context

from minova.db import migration
from minova.db.main_tables import metadata

migration.run_env(context, metadata)
