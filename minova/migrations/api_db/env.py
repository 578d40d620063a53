"""Alembic environment of the api_db schema."""
from alembic import context

from minova.db import migration
from minova.db.api_tables import metadata

migration.run_env(context, metadata)
