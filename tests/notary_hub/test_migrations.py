"""Alembic migrations build exactly the schema the models declare, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from notary_hub import migrate
from notary_hub.db import METADATA, create_db_engine


def schema_diff(engine: Engine) -> list[object]:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        # alembic compares a sequence of MetaData (as env.py's target_metadata), though its
        # annotation names a single one.
        return list(compare_metadata(context, list(METADATA)))  # type: ignore[arg-type]


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    assert migrate.is_current(engine)
    assert schema_diff(engine) == []


def test_downgrade_and_upgrade_again(db_url: str) -> None:
    engine = create_db_engine(db_url)
    try:
        assert migrate.current_revision(engine) is None
        migrate.upgrade(engine)
        tables = set(inspect(engine).get_table_names())
        assert {"anchor_items", "anchor_batches", "anchor_levels", "chain_contracts"} <= tables
        config = migrate.alembic_config(engine)
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
        assert "anchor_items" not in inspect(engine).get_table_names()
        migrate.upgrade(engine)
        assert migrate.is_current(engine)
        assert schema_diff(engine) == []
    finally:
        engine.dispose()
