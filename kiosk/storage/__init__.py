"""The only package that talks to the database: engine, schema, and one query module per feature."""
from .engine import Database, process_name, utcnow
from .migrations import SCHEMA_VERSION, ensure_schema

__all__ = ["Database", "process_name", "utcnow", "SCHEMA_VERSION", "ensure_schema"]
