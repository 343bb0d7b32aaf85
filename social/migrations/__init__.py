"""Alembic migrations of the social database; run them with ``Database.migrate()``."""
