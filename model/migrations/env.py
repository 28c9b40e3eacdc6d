"""Alembic environment: runs migrations on the engine handed over by model.db."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

import model  # noqa: F401  (registers every table on the metadata)
from model.base import Base

engine = context.config.attributes.get("engine")
if not isinstance(engine, Engine):
    from model.db import make_engine
    from workhub.config import database_url_from_env

    engine = make_engine(database_url_from_env())

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
