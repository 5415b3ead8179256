"""Insert-or-update of one row by its primary key, safe when two processes (or threads) write it at once."""
from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def upsert(session: Session, model, values: dict) -> None:
    """INSERT ... ON CONFLICT (primary key) DO UPDATE: unlike Session.merge (SELECT, then INSERT), two
    writers of a new key never meet a unique violation."""
    dialect = postgresql if session.bind.dialect.name == "postgresql" else sqlite
    keys = [column.name for column in model.__table__.primary_key.columns]
    statement = dialect.insert(model).values(**values)
    session.execute(statement.on_conflict_do_update(
        index_elements=keys, set_={name: value for name, value in values.items() if name not in keys}))
