"""Size and time limits on request bodies, over a real socket: 413 and 408, recorded with what arrived."""

from __future__ import annotations

import hashlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from eligibility.api.workers import ProcessEvaluator
from tests.api.conftest import Api, make_settings, running_api
from tests.api.helpers import ClientKeys, example, records


@pytest.fixture
def strict(tmp_path: Path, keys: ClientKeys, issuers_file: Path, evaluator: ProcessEvaluator) -> Iterator[Api]:
    settings = make_settings(issuers_file, api_max_body_bytes=20_000, api_request_timeout_s=0.5)
    with running_api(f"sqlite:///{tmp_path / 'api.db'}", keys=keys, settings=settings, evaluator=evaluator) as api:
        yield api


def raw_request(api: Api, head: bytes, parts: list[bytes], pause: float = 0.0) -> tuple[int, dict[str, object]]:
    """Send a request by hand (so the body can stall or be chunked); returns status and JSON body."""
    host, port = api.base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head)
        for part in parts:
            sock.sendall(part)
            time.sleep(pause)
        received = b""
        while b"\r\n\r\n" not in received or not _complete(received):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    header, _, body = received.partition(b"\r\n\r\n")
    status = int(header.split(b" ", 2)[1])
    return status, orjson.loads(body)


def _complete(received: bytes) -> bool:
    header, _, body = received.partition(b"\r\n\r\n")
    for line in header.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def head(api: Api, extra: str) -> bytes:
    token = api.tokens[next(iter(api.tokens))]
    return (
        "POST /fhir/Patient/$drg-candidacy HTTP/1.1\r\nHost: test\r\nContent-Type: application/fhir+json\r\n"
        f"Authorization: Bearer {token}\r\n{extra}\r\n"
    ).encode()


def test_a_slow_client_gets_408_and_what_it_sent_is_recorded(strict: Api) -> None:
    body = example()
    status, outcome = raw_request(strict, head(strict, f"Content-Length: {len(body)}\r\n"), [body[:100]], pause=2.0)

    assert status == 408
    assert outcome["issue"][0]["code"] == "timeout"  # type: ignore[index]
    [rejection] = records(strict.engine, "rejection")
    assert rejection.data()["error"]["type"] == "RequestTimeoutError"
    assert rejection.input_sha256 == hashlib.sha256(body[:100]).hexdigest()


def test_a_chunked_body_over_the_limit_gets_413(strict: Api) -> None:
    chunk = b"x" * 8000
    parts = [f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" for _ in range(4)] + [b"0\r\n\r\n"]
    status, outcome = raw_request(strict, head(strict, "Transfer-Encoding: chunked\r\n"), parts)

    assert status == 413
    assert outcome["issue"][0]["diagnostics"].endswith(", at body")  # type: ignore[index]
    [rejection] = records(strict.engine, "rejection")
    assert rejection.data()["error"]["type"] == "PayloadTooLargeError"


def test_a_declared_length_over_the_limit_is_refused_unread(strict: Api) -> None:
    status, outcome = raw_request(strict, head(strict, "Content-Length: 50000000\r\n"), [])
    assert status == 413
    assert outcome["issue"][0]["expression"] == ["http.Content-Length"]  # type: ignore[index]
    [rejection] = records(strict.engine, "rejection")
    assert rejection.input_sha256 == hashlib.sha256(b"").hexdigest()


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_client_still_sending_an_oversized_body_reads_its_413(strict: Api, framing: str) -> None:
    body = b"x" * 12_000_000  # 600 times the limit, more than socket buffers hold, sent before reading
    if framing == "chunked":
        step = 64 << 10
        parts = [f"{step:x}\r\n".encode() + body[i : i + step] + b"\r\n" for i in range(0, len(body), step)]
        status, outcome = raw_request(strict, head(strict, "Transfer-Encoding: chunked\r\n"), [*parts, b"0\r\n\r\n"])
    else:
        status, outcome = raw_request(strict, head(strict, f"Content-Length: {len(body)}\r\n"), [body])
    assert status == 413  # the report: reset while sending; not reproduced with uvicorn+httptools here
    assert outcome["resourceType"] == "OperationOutcome"
    [rejection] = records(strict.engine, "rejection")
    assert rejection.data()["error"]["type"] == "PayloadTooLargeError"
