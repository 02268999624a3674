"""The tamper-evident audit trail: every decision, rejection, review, promotion and access, append-only.

    models       the three append-only tables (records, inputs, checkpoints)
    chain        canonical record content, content hash, keyed chain link
    checkpoints  the audit key, signed heads
    store        session-first append and read functions (the caller commits)
    promotion    a screening decision put in the review queue (its own record)
    worklist_table    the derived worklist index (one row per decision; not append-only, not chained)
    worklist_index    keeps the index in step inside the append's transaction
    worklist_rebuild  recompute the index from the trail (`audit reindex`) and compare (`audit verify`)
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
