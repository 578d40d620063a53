"""The deployment's identity, recorded in each cell database

Revision ID: 003_deployment
Revises: 002_fractional_seconds
Create Date: 2026-12-04

Compute agents write it into the metadata of every guest they create, so a
hypervisor shared by two deployments (or by a test run beside a running
cloud) can tell whose guest is whose. It is made once, with the schema: a
database restored from a backup keeps it.
"""
import uuid

import sqlalchemy as sa
from alembic import op

revision = '003_deployment'
down_revision = '002_fractional_seconds'
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        'deployment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('uuid', sa.String(length=36), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('uuid'),
    )
    op.bulk_insert(table, [{'id': 1, 'uuid': str(uuid.uuid4())}])
