"""quota classes (os-quota-class-sets)

Revision ID: 003_quota_classes
Revises: 002_aggregates_groups
Create Date: 2026-12-18

A quota class overrides the [quota] defaults per resource; the class named
"default" is the deployment's default for every project without its own
limits, as in Nova.
"""
import sqlalchemy as sa
from alembic import op

revision = '003_quota_classes'
down_revision = '002_aggregates_groups'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'quota_classes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('class_name', sa.String(length=255), nullable=False),
        sa.Column('resource', sa.String(length=255), nullable=False),
        sa.Column('hard_limit', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('class_name', 'resource',
                            name='uniq_quota_classes0class_name0resource'),
    )
