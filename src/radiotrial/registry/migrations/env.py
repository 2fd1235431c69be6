"""Alembic environment: runs on the connection that radiotrial.registry hands over."""

from __future__ import annotations

from alembic import context

from radiotrial.registry._models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - radiotrial always passes a connection
    raise RuntimeError(
        "run migrations with radiotrial.registry.upgrade() or `radiotrial db upgrade`"
    )

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
