"""Alembic environment: runs on the connection that `eligibility.audit.migrate` hands over.

The caller has already begun the transaction (and, on PostgreSQL, taken the migration lock), so
every revision applies atomically: a failed upgrade leaves the previous schema intact.
"""

from __future__ import annotations

from alembic import context

from eligibility.audit.migrate import VERSION_TABLE

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None, version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
