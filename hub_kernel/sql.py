"""SQL conventions shared by every component's tables.

Each component owns a ``DeclarativeBase`` of its own (components must not share
mutable registries); they agree on constraint naming so Alembic migrations are
identical on SQLite and PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import MetaData

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def component_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)
