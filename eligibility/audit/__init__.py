"""The tamper-evident audit trail: every decision, rejection, review and access, append-only.

    models       the three append-only tables (records, inputs, checkpoints)
    chain        canonical record content, content hash, keyed chain link
    checkpoints  the audit key, signed heads
    store        session-first append and read functions (the caller commits)
    verify       walk the chain, checkpoints and inputs; name the first bad record
    export       FHIR R4 AuditEvent / Provenance NDJSON and raw record NDJSON
    replay       re-evaluate a recorded decision under its recorded policy and as_of
    whatif       re-evaluate past decisions under another installed policy version
    diff         the structural difference replay prints
    clock        the only clock of the trail, and its timestamp format
    database     engines and sessions (SQLite file by default, PostgreSQL by URL)
    migrate      the Alembic migrations, run from code
    cli          the `audit`, `replay` and `whatif` commands

Importing this package opens no connection.
"""
