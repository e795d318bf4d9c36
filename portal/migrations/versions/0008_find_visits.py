"""the visit's start and source as columns, and the indexes that find visits

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 09:00:00

The list filters and sorts by when a visit starts and searches its source, but both
lived only in JSON (Leat's snapshot, or the unsent change), which SQLite and
PostgreSQL query differently and neither indexes. They become columns, filled here
for the records that exist (in Python, so both databases get the same reading) and
kept by the model from now on (``VisitRecord.note_intended``).

Indexes: (starts_at, id) for the default order of a manager of all shops;
(shop_uuid, starts_at, id) for one shop; and on PostgreSQL a trigram GIN index over
e-mail, external ID and source for the case-insensitive substring search (pg_trgm, a
trusted extension PaaS databases allow). Measured in bench/search_cost.py.
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

SEARCHED = ("contact_email", "external_id", "source")
BATCH = 1000


def upgrade():
    with op.batch_alter_table("visit_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("source", sa.Text(), nullable=True))
    fill_columns(op.get_bind())
    with op.batch_alter_table("visit_records", schema=None) as batch_op:
        batch_op.alter_column("starts_at", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.create_index("ix_visit_records_starts_first", ["starts_at", "id"], unique=False)
        batch_op.create_index(
            "ix_visit_records_shop_starts", ["shop_uuid", "starts_at", "id"], unique=False
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index(
        "ix_visit_records_search",
        "visit_records",
        list(SEARCHED),
        unique=False,
        postgresql_using="gin",
        postgresql_ops={column: "gin_trgm_ops" for column in SEARCHED},
    )


def downgrade():
    # pg_trgm stays: other schemas in the database may use it, and it costs nothing.
    op.drop_index("ix_visit_records_search", table_name="visit_records")
    with op.batch_alter_table("visit_records", schema=None) as batch_op:
        batch_op.drop_index("ix_visit_records_shop_starts")
        batch_op.drop_index("ix_visit_records_starts_first")
        batch_op.drop_column("source")
        batch_op.drop_column("starts_at")


def fill_columns(connection) -> None:
    """Each record's start and source as the portal shows them: Leat's snapshot with
    the unsent change on top, or the unsent create; a record without a start sorts by
    when it was recorded."""
    records = sa.table(
        "visit_records",
        sa.column("id", sa.Integer),
        sa.column("snapshot", sa.JSON),
        sa.column("pending", sa.JSON),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("starts_at", sa.DateTime(timezone=True)),
        sa.column("source", sa.Text),
    )
    rows = connection.execute(
        sa.select(records.c.id, records.c.snapshot, records.c.pending, records.c.created_at)
    ).all()
    values = []
    for row in rows:
        snapshot = row.snapshot or {}
        fields = (row.pending or {}).get("fields") or {}
        starts_at = instant(fields.get("starts_at")) or instant(snapshot.get("starts_at"))
        created_at = row.created_at
        if isinstance(created_at, str):  # a raw SQLite value, should the type not apply
            created_at = instant(created_at)
        elif created_at is not None and created_at.tzinfo is None:
            created_at = created_at.replace(tzinfo=UTC)
        starts_at = starts_at or created_at or datetime.now(UTC)
        source = fields.get("source")
        values.append(
            {
                "record_id": row.id,
                "new_starts_at": starts_at.astimezone(UTC),
                "new_source": source if source is not None else snapshot.get("source"),
            }
        )
    statement = (
        records.update()
        .where(records.c.id == sa.bindparam("record_id"))
        .values(starts_at=sa.bindparam("new_starts_at"), source=sa.bindparam("new_source"))
    )
    for start in range(0, len(values), BATCH):
        connection.execute(statement, values[start : start + BATCH])


def instant(value):
    """An ISO 8601 time as an aware datetime (UTC when it names no offset), else None."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
