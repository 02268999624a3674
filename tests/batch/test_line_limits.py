"""The batch reader is bounded: an overlong line is a rejection holding its length and hash, not its
bytes, and a compressed file that inflates like a bomb is refused (issue 12, item 6).

Before: a 522 KB gzip holding one 512 MiB line took 168 s and 1.9 GB of memory and stored the whole
line as a rejection (the audit file grew by 537 MB). Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from benchmarks.synthetic_export import write_export
from eligibility.audit.database import SessionFactory, dispose_engines, session_factory
from eligibility.batch import BatchOptions, run_batch
from eligibility.batch.export_reader import MAX_LINE_BYTES, find_export_files, line_starts
from eligibility.errors import InputError
from eligibility.settings import get_settings
from tests.postgres import POSTGRES_URL, postgres_schema_url, require_postgres

from .conftest import AS_OF, audit_records, ndjson


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def trail(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SessionFactory]:
    monkeypatch.setenv("DRG_ELIGIBILITY_AUDIT_WITNESS_PATH", str(tmp_path / "witness" / "trail.jsonl"))
    get_settings.cache_clear()
    if request.param == "sqlite":
        yield session_factory(f"sqlite:///{tmp_path / 'audit.db'}")
        dispose_engines()
        get_settings.cache_clear()
        return
    require_postgres()
    schema = f"batch_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield session_factory(postgres_schema_url(schema))
    finally:
        dispose_engines()
        get_settings.cache_clear()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def stored_input_bytes(factory: SessionFactory) -> int:
    with factory() as session:
        total = session.execute(text("SELECT coalesce(sum(size), 0) FROM audit_input")).scalar_one()
        session.rollback()
    return int(total)


def test_an_overlong_line_is_a_rejection_with_its_length_and_hash_not_its_bytes(
    trail: SessionFactory, tmp_path: Path
) -> None:
    export = tmp_path / "export"
    write_export(export, 3, seed=5)
    filler = os.urandom((MAX_LINE_BYTES + (1 << 20)) // 2).hex().encode()  # 17 MiB that do not compress
    line = b'{"resourceType":"Observation","id":"big","note":[{"text":"' + filler + b'"}]}'
    (export / "Observation.9.ndjson").write_bytes(b"\n" + line + b"\n")
    out = tmp_path / "out" / "decisions.ndjson"
    started = time.perf_counter()
    summary = run_batch(BatchOptions(export, out, as_of=AS_OF, workers=1, chunk_patients=4, session_factory=trail))
    elapsed = time.perf_counter() - started
    assert (summary.decided, summary.bad_lines) == (3, 1)
    [rejected] = ndjson(out.with_name(out.name + ".rejected.ndjson"))
    assert rejected["source"] == "Observation.9.ndjson line 2"
    message = rejected["error"]["message"]
    assert f"the line has {len(line):,} bytes, over the limit of {MAX_LINE_BYTES:,}" in message
    assert hashlib.sha256(line).hexdigest() in message
    [record] = audit_records(trail, "rejection")
    assert len(record.payload) < 2_000
    assert stored_input_bytes(trail) < 1 << 20  # the 17 MiB line is not in the trail
    assert elapsed < 60


def test_a_decompression_bomb_is_refused_before_it_is_inflated(trail: SessionFactory, tmp_path: Path) -> None:
    export = tmp_path / "export"
    write_export(export, 3, seed=5)
    bomb = gzip.compress(b'{"resourceType":"Observation","id":"x","note":"' + b"0" * (256 << 20) + b'"}\n', 9)
    assert len(bomb) < 300_000  # 256 MiB in a few hundred KB, as in the issue
    (export / "Observation.9.ndjson.gz").write_bytes(bomb)
    out = tmp_path / "out" / "decisions.ndjson"
    started = time.perf_counter()
    with pytest.raises(InputError, match="refused as a decompression bomb"):
        run_batch(BatchOptions(export, out, as_of=AS_OF, workers=1, chunk_patients=4, session_factory=trail))
    assert time.perf_counter() - started < 30  # was 168 s for 512 MiB
    assert stored_input_bytes(trail) < 1 << 20


def test_part_boundaries_are_found_without_reading_a_long_line_whole(tmp_path: Path) -> None:
    lines = [b"a" * 100, b"b" * (5 << 20), b"c" * 100, b"d" * 100]
    path = tmp_path / "Observation.ndjson"
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    [file] = find_export_files(tmp_path)
    # Boundaries every 1 MiB fall inside the 5 MiB line: the next start is after it, found block by block.
    assert line_starts(file, 1 << 20) == [0, 101 + (5 << 20) + 1]
