"""Storage: the append-only store of sessions, turns and grades (SQLite or PostgreSQL), its
tables and its alembic migrations."""
