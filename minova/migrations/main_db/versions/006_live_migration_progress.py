"""How far a live migration is: Nova's memory_* and disk_* migration fields

Revision ID: 006_live_migration_progress
Revises: 005_console_auth_tokens
Create Date: 2026-12-05

The source compute writes the driver's progress (bytes) into the record of a
running live migration; GET /servers/{id}/migrations shows it.
"""
import sqlalchemy as sa
from alembic import op

revision = '006_live_migration_progress'
down_revision = '005_console_auth_tokens'
branch_labels = None
depends_on = None

COLUMNS = ('memory_total', 'memory_processed', 'memory_remaining',
           'disk_total', 'disk_processed', 'disk_remaining')


def upgrade() -> None:
    for name in COLUMNS:
        op.add_column('migrations', sa.Column(name, sa.BigInteger()))
