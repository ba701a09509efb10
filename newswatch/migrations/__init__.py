"""Alembic migrations of the store's schema, run by ``Store.migrate()`` (see README in this folder)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

HERE = Path(__file__).resolve().parent
#: The revision that describes the schema databases created before alembic (metadata.create_all) have.
BASELINE = "0001"


def alembic_config(connection: sa.Connection | None = None) -> Config:
    config = Config(str(HERE / "alembic.ini"))
    config.set_main_option("script_location", str(HERE))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade_to_head(connection: sa.Connection) -> None:
    """Upgrade the database on ``connection`` (inside its transaction) to the newest revision."""
    config = alembic_config(connection)
    inspector = sa.inspect(connection)
    if inspector.has_table("items") and not inspector.has_table("alembic_version"):
        command.stamp(config, BASELINE)
    command.upgrade(config, "head")
