"""Indexes for the history queries, now that a store may hold many users on PostgreSQL.

``sessions(user_key, created_at)`` serves a user's history newest first without a sort. Turns
and grades by session are already served by their unique keys (session_id, seq) and
(session_id, turn_seq) and by the indexes on session_id. Nothing on ``updated_at``: it changes on
every turn, and an index on it would make every append write the index too.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_sessions_user_created", "sessions", ["user_key", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_sessions_user_created", table_name="sessions")
