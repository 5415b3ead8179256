"""The only package that talks to the database: engine, schema, and one query module per feature."""
from .engine import Database, utcnow
from .migrations import SCHEMA_VERSION, ensure_schema

__all__ = ["Database", "utcnow", "SCHEMA_VERSION", "ensure_schema"]
