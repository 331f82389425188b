"""Model accounting on assessments: tokens in/out, the fallback reason, the model's next words.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("assessments") as batch:
        batch.add_column(sa.Column("tokens_in", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("tokens_out", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("fallback", sa.Text(), nullable=True))
        batch.add_column(sa.Column("utterance", sa.Text(), nullable=True))
        batch.add_column(sa.Column("follow_up_point", sa.String(120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("assessments") as batch:
        for column in ("follow_up_point", "utterance", "fallback", "tokens_out", "tokens_in"):
            batch.drop_column(column)
