"""Card links and access tokens stay out of the access log; card links live hours, not a week (issue 12, item 10)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from eligibility.api.links import LinkSigner
from eligibility.api.server import uvicorn_config
from eligibility.app import create_app
from eligibility.settings import Settings


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def logged(tmp_path: object) -> Iterator[tuple[str, Lines]]:
    settings = Settings(environment="test", database_url=f"sqlite:///{tmp_path}/api.db", api_workers=1)
    config = uvicorn_config(create_app(settings), settings, host="127.0.0.1", port=0, log_level="info")
    server = uvicorn.Server(config)
    lines = Lines()
    logging.getLogger("uvicorn.access").addHandler(lines)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", lines
    finally:
        server.should_exit = True
        thread.join(timeout=60)
        logging.getLogger("uvicorn.access").removeHandler(lines)


def test_secrets_in_queries_are_not_logged(logged: tuple[str, Lines]) -> None:
    base, lines = logged
    httpx.get(f"{base}/decisions/abc/view?for=dr.x&exp=1&sig=SECRETSIG", timeout=30)
    httpx.get(f"{base}/fhir/metadata?access_token=SECRETTOKEN", timeout=30)
    httpx.get(f"{base}/fhir/metadata?_format=json", timeout=30)
    text = "\n".join(lines.lines)
    assert "/decisions/abc/view?[redacted]" in text and "/fhir/metadata?[redacted]" in text
    assert "SECRET" not in text  # was the whole query, signature and token included
    assert "/fhir/metadata?_format=json" in text  # other queries are kept


def test_card_links_expire_after_hours_not_a_week() -> None:
    signer = LinkSigner(key=b"k" * 32, clock=lambda: 1_000_000.0)
    url = signer.url("https://drg.example.org", "d1", issued_to="dr.x")
    expires = int(url.split("exp=")[1].split("&")[0])
    assert expires - 1_000_000 == 8 * 3600  # was 7 days
    assert Settings().api_card_link_ttl_s == 8 * 3600
