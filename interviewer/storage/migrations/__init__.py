"""Alembic migrations for the transcript store, applied in order."""
