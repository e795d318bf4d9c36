"""error facts instead of error wording

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 07:40:00

A record now keeps what Leat said (the kind of problem, Leat's code and message), not
the sentence a manager read: wording is chosen when a page is rendered, so it can be
translated. The old sentences cannot be turned back into facts; their kinds can.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The exception class names (and "auth") that 0003's last_error_kind held.
OLD_KINDS = {
    "auth": "auth",
    "LeatRateLimited": "rate_limited",
    "LeatUnavailable": "unavailable",
    "LeatMaintenance": "maintenance",
    "LeatMalformedResponse": "malformed",
    "LeatNotFound": "not_found",
    "LeatValidationError": "invalid_input",
    "LeatRequestError": "unknown",
}


def upgrade():
    with op.batch_alter_table("visit_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("error_kind", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("error_code", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("error_message", sa.Text(), nullable=True))
    records = sa.table(
        "visit_records",
        sa.column("last_error_kind", sa.String),
        sa.column("error_kind", sa.String),
    )
    for old, new in OLD_KINDS.items():
        op.execute(records.update().where(records.c.last_error_kind == old).values(error_kind=new))
    with op.batch_alter_table("visit_records", schema=None) as batch_op:
        batch_op.drop_column("last_error_kind")
        batch_op.drop_column("last_error")


def downgrade():
    with op.batch_alter_table("visit_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("last_error_kind", sa.String(length=32), nullable=True))
    records = sa.table(
        "visit_records",
        sa.column("last_error_kind", sa.String),
        sa.column("last_error", sa.Text),
        sa.column("error_kind", sa.String),
        sa.column("error_message", sa.Text),
    )
    op.execute(
        records.update().values(
            last_error_kind=records.c.error_kind, last_error=records.c.error_message
        )
    )
    with op.batch_alter_table("visit_records", schema=None) as batch_op:
        batch_op.drop_column("error_message")
        batch_op.drop_column("error_code")
        batch_op.drop_column("error_kind")
