"""Storage: tables, the engine, migrations. SQLite (WAL) by default, PostgreSQL in production."""
