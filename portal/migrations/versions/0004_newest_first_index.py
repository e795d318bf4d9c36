"""an index for the visits page's order

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 01:50:00

The page lists visits newest first. For a manager of all shops the only index
(shop_uuid, created_at) does not serve that order, so every page load sorted the
whole table: a cost that grows with every visit ever recorded.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_visit_records_newest_first", "visit_records", ["created_at", "id"])


def downgrade():
    op.drop_index("ix_visit_records_newest_first", table_name="visit_records")
