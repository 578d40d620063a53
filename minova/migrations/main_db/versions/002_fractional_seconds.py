"""Timestamps with microseconds on MySQL/MariaDB

Revision ID: 002_fractional_seconds
Revises: 001_initial
Create Date: 2026-11-21

SQLite and PostgreSQL already keep microseconds; MySQL's DATETIME rounds to
the second, which blurs instance action events and launched_at.
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = '002_fractional_seconds'
down_revision = '001_initial'
branch_labels = None
depends_on = None

COLUMNS = {
    'instances': ('created_at', 'updated_at', 'deleted_at', 'launched_at', 'terminated_at'),
    'instance_faults': ('created_at', 'updated_at'),
    'instance_actions': ('created_at', 'updated_at', 'start_time', 'finish_time'),
    'instance_actions_events': ('created_at', 'updated_at', 'start_time', 'finish_time'),
    'services': ('created_at', 'updated_at', 'deleted_at', 'last_seen_up'),
    'compute_nodes': ('created_at', 'updated_at', 'deleted_at'),
    'migrations': ('created_at', 'updated_at', 'deleted_at'),
}


def upgrade() -> None:
    if op.get_bind().dialect.name not in ('mysql', 'mariadb'):
        return
    for table, columns in COLUMNS.items():
        for column in columns:
            op.alter_column(table, column, type_=mysql.DATETIME(fsp=6),
                            existing_type=sa.DateTime(), existing_nullable=True)
