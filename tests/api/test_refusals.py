"""Strangers cannot grow the trail: bounded fields, a cap on request heads, a quota of refusals.

Before issue 12: a CDS call with a 1 MB `iss` was refused (401) but the whole `iss` was stored, ten
of them added 10 MB of undeletable audit data, and one 40 MB header made a 30 MB record.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from eligibility.api.workers import ProcessEvaluator
from fhir_adapters.cds_hooks import SERVICE_ID
from tests.api.conftest import Api, make_settings, running_api
from tests.api.helpers import ClientKeys, example, records

PATH = f"/cds-services/{SERVICE_ID}"
BODY = {"hook": "patient-view", "hookInstance": "x", "context": {"patientId": "p"}}


def payload_bytes(api: Api) -> int:
    return sum(len(r.payload) for r in records(api.engine))


def test_a_refused_call_with_a_huge_issuer_stores_its_hash_and_length_not_its_bytes(api: Api) -> None:
    before = payload_bytes(api)
    issuer = "https://" + "x" * 9_000  # under the 16 KB head limit, so the application sees it
    for _ in range(10):
        response = api.cds(PATH, BODY, claims={"iss": issuer})
        assert response.status_code == 401
    rejections = records(api.engine, "rejection")
    assert len(rejections) == 10
    message = rejections[0].data()["error"]["message"]
    full = f"CDS client JWT refused: issuer {issuer!r} is not trusted"
    assert f"[cut: {len(full)} characters, sha256 {hashlib.sha256(full.encode()).hexdigest()}]" in message
    assert len(message) < 4200
    assert payload_bytes(api) - before < 10 * 5_000  # was 10 x 9 KB and more (10 x 1 MB with a 1 MB iss)


def raw_request(base: str, head: bytes, *, read_timeout: float = 10) -> bytes:
    """Send `head` as it is over one connection and read the answer until the server closes it."""
    where = urlsplit(base)
    with socket.create_connection((where.hostname, where.port), timeout=read_timeout) as connection:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            connection.sendall(head)  # the server may answer and close while we are still sending
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize("size", [40_000, 20 * 1024 * 1024])
def test_a_request_head_over_16_kb_gets_431_and_nothing_reaches_the_trail(api: Api, size: int) -> None:
    before = len(records(api.engine))
    head = (
        b"POST /fhir/Patient/$drg-candidacy HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Authorization: Bearer " + b"a" * size + b"\r\nContent-Length: 0\r\n\r\n"
    )
    started = time.perf_counter()
    answer = raw_request(api.base, head)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b'"resourceType":"OperationOutcome"' in answer and b"too-costly" in answer
    assert time.perf_counter() - started < 5
    assert len(records(api.engine)) == before
    assert api.http.get("/fhir/metadata").status_code == 200  # the server serves on


def test_a_head_just_under_the_limit_is_served(api: Api) -> None:
    response = api.http.get("/fhir/metadata", headers={"X-Padding": "p" * 15_000})
    assert response.status_code == 200


@pytest.fixture
def throttled(
    db_url: str, keys: ClientKeys, issuers_file: Path, evaluator: ProcessEvaluator
) -> Iterator[Api]:
    settings = make_settings(issuers_file, api_refusals_burst=3, api_refusals_window_s=1.0)
    with running_api(db_url, keys=keys, settings=settings, evaluator=evaluator) as api:
        yield api


def test_refused_unauthenticated_calls_beyond_the_quota_get_429_and_one_summary_record(throttled: Api) -> None:
    statuses = [throttled.cds(PATH, BODY, claims={"iss": "https://nobody.example"}).status_code for _ in range(10)]
    assert statuses == [401] * 3 + [429] * 7
    assert len(records(throttled.engine, "rejection")) == 3
    time.sleep(1.1)  # the window closes; the next refusal from the address writes its summary
    assert throttled.cds(PATH, BODY, claims={"iss": "https://nobody.example"}).status_code == 401
    rejections = records(throttled.engine, "rejection")
    assert len(rejections) == 5
    summary = rejections[3].data()
    assert summary["error"]["type"] == "RefusalsSummarised" and summary["count"] == 7
    assert "7 further refused unauthenticated call(s) from 127.0.0.1" in summary["error"]["message"]
    assert rejections[3].actor == "anonymous@127.0.0.1"


def test_authenticated_callers_are_not_throttled(throttled: Api) -> None:
    statuses = [throttled.operate(b"{not json").status_code for _ in range(6)]
    assert statuses == [400] * 6
    assert len(records(throttled.engine, "rejection")) == 6


def test_a_large_body_arriving_with_its_head_is_not_mistaken_for_a_large_head(api: Api) -> None:
    body = example() + b" " * 60_000  # head, body and the end of the message in one read
    response = api.operate(body, params={"asOf": "2026-11-20"})
    assert response.status_code == 200, response.text
