"""Alembic's environment: the target schema is ``newswatch.store.schema.metadata``.

``Store.migrate()`` hands in a connection (already in a transaction and holding the migration lock);
the alembic command line gets one from ``$NEWSWATCH_DATABASE_URL``.
"""

import os

from alembic import context

from newswatch.store.schema import UTCDateTime, create_db_engine, managed_by_metadata, metadata

config = context.config


def render_item(kind, obj, autogen_context):  # type: ignore[no-untyped-def]
    """Revisions stay plain SQLAlchemy: UTCDateTime is a DateTime column as far as the schema goes."""
    return "sa.DateTime()" if kind == "type" and isinstance(obj, UTCDateTime) else False


def run(connection) -> None:  # type: ignore[no-untyped-def]
    # batch mode lets ALTER TABLE revisions work on SQLite too (it copies the table)
    context.configure(connection=connection, target_metadata=metadata, render_item=render_item,
                      include_object=managed_by_metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


if "connection" in config.attributes:
    run(config.attributes["connection"])
else:
    engine = create_db_engine(os.environ["NEWSWATCH_DATABASE_URL"])
    with engine.begin() as connection:
        run(connection)
    engine.dispose()
