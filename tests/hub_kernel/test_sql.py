"""The constraint naming every component's tables share (Alembic sees the same names on
SQLite and PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, String, Table
from sqlalchemy.schema import CreateIndex, CreateTable

from hub_kernel.sql import NAMING_CONVENTION, component_metadata


def test_each_component_gets_its_own_metadata() -> None:
    first, second = component_metadata(), component_metadata()
    assert first is not second
    assert dict(first.naming_convention) == NAMING_CONVENTION


def test_constraints_are_named_by_the_convention() -> None:
    metadata = component_metadata()
    Table("parents", metadata, Column("id", Integer, primary_key=True))
    children = Table(
        "children",
        metadata,
        Column("id", Integer, primary_key=True),
        Column("parent_id", Integer, ForeignKey("parents.id")),
        Column("name", String(10), unique=True),
        Column("size", Integer),
        CheckConstraint("size >= 0", name="size_positive"),
    )
    index = Index(None, children.c.parent_id, children.c.size)
    ddl = str(CreateTable(children))
    assert "CONSTRAINT pk_children PRIMARY KEY" in ddl
    assert "CONSTRAINT uq_children_name UNIQUE" in ddl
    assert "CONSTRAINT ck_children_size_positive CHECK" in ddl
    assert "CONSTRAINT fk_children_parent_id_parents FOREIGN KEY" in ddl
    assert "CREATE INDEX ix_children_parent_id_size" in str(CreateIndex(index))
