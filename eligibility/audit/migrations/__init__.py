"""Alembic migrations of the audit schema, shipped inside the package and run programmatically.

See `eligibility.audit.migrate`; no alembic.ini is needed. Revisions live in `versions/`.
"""
