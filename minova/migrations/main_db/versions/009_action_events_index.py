"""An index on instance_actions_events.action_id

Revision ID: 009_action_events_index
Revises: 008_listing_index
Create Date: 2026-12-06

Every event a boot starts or finishes (conductor, scheduling, compute's
build and spawn) is found by its action: `UPDATE instance_actions_events
... WHERE action_id = :id AND event = :name`. Without an index on action_id
(MySQL makes one for the foreign key; SQLite and PostgreSQL do not) that
update scanned every event of the cell, inside a write transaction, so each
boot got slower as servers accumulated (10 ms per update at 50,000 events
on SQLite).
"""
from alembic import op

revision = '009_action_events_index'
down_revision = '008_listing_index'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('instance_actions_events_action_id_idx', 'instance_actions_events',
                    ['action_id'])


def downgrade() -> None:
    if op.get_bind().dialect.name == 'mysql':
        # MySQL dropped the foreign key's own index when this one was made;
        # this one now serves the foreign key and cannot be dropped.
        return
    op.drop_index('instance_actions_events_action_id_idx',
                  table_name='instance_actions_events')
