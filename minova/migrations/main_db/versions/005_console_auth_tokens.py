"""Console authorization tokens, as Nova's console_auth_tokens table

Revision ID: 005_console_auth_tokens
Revises: 004_migration_fields
Create Date: 2026-12-04

A remote console URL carries a random token; the cell database keeps only
its sha256 (token_hash) with what the proxy connects to (host, port,
internal_access_path), the console type, the instance and the expiry
(seconds since the epoch, as Nova's `expires`).
"""
import sqlalchemy as sa
from alembic import op

revision = '005_console_auth_tokens'
down_revision = '004_migration_fields'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'console_auth_tokens',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=255), nullable=False),
        sa.Column('console_type', sa.String(length=255), nullable=False),
        sa.Column('host', sa.String(length=255), nullable=False),
        sa.Column('port', sa.Integer(), nullable=False),
        sa.Column('internal_access_path', sa.String(length=255)),
        sa.Column('instance_uuid', sa.String(length=36), nullable=False),
        sa.Column('expires', sa.Integer(), nullable=False),
        sa.Column('access_url_base', sa.String(length=255)),
        sa.Column('created_at', sa.DateTime(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash', name='uniq_console_auth_tokens0token_hash'),
    )
    op.create_index('console_auth_tokens_instance_uuid_idx', 'console_auth_tokens',
                    ['instance_uuid'])
    op.create_index('console_auth_tokens_host_expires_idx', 'console_auth_tokens',
                    ['host', 'expires'])
