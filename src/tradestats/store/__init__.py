"""Persistence: the only package that talks SQL (engine, pool, tables, migrations)."""
