"""Indexes on compute_nodes.updated_at and services.updated_at

Revision ID: 010_scheduler_updated_at_index
Revises: 009_action_events_index
Create Date: 2026-12-06

The scheduler keeps each cell's nodes and services in memory and, on every
request, reads only the rows written since its newest copy
(compute_nodes.changed_for_scheduling). Without an index on either stamp
that read went through every node and service of the cell each time (a
fifth of the scheduler's own work at 1,000 hosts); with them it walks the
few rows that heartbeats and usage updates touched.
"""
from alembic import op

revision = '010_scheduler_updated_at_index'
down_revision = '009_action_events_index'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('compute_nodes_updated_at_idx', 'compute_nodes', ['updated_at'])
    op.create_index('services_updated_at_idx', 'services', ['updated_at'])


def downgrade() -> None:
    op.drop_index('services_updated_at_idx', table_name='services')
    op.drop_index('compute_nodes_updated_at_idx', table_name='compute_nodes')
