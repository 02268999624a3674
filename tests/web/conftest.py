"""Fixtures: the app on a seeded SQLite trail, driven by FastAPI's TestClient (routes, auth, CSRF).

The database is seeded once per module (evaluating the bundles costs seconds); tests that write
reviews use their own decisions or check only what they add. The browser test serves the same app
with uvicorn instead (test_browser.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from eligibility.app import create_app
from eligibility.service import Evaluated, Rejected
from eligibility.settings import Settings
from tests.web.seed import Seeded, seed


class NoEvaluator:
    """The web pages never evaluate; a pool of rule workers would only slow the tests down."""

    async def evaluate(self, raw: bytes, *, as_of: date, policy: str | None = None) -> Evaluated | Rejected:
        raise AssertionError("the web tests do not evaluate through the API")

    def close(self) -> None:
        return None


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    path: Path = tmp_path_factory.mktemp("web") / "web.db"
    data = seed(f"sqlite:///{path}")
    yield data
    data.engine.dispose()


def make_client(seeded: Seeded) -> TestClient:
    app = create_app(
        Settings(environment="test"), session_factory=lambda: Session(seeded.engine), evaluator=NoEvaluator()
    )
    return TestClient(app, base_url="http://testserver", follow_redirects=False)


@pytest.fixture
def client(seeded: Seeded) -> Iterator[TestClient]:
    with make_client(seeded) as running:
        yield running


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found[1]


def login(client: TestClient, token: str) -> None:
    page = client.get("/ui/login")
    response = client.post("/ui/login", data={"token": token, "csrf": csrf_of(page.text), "next": "/ui/worklist"})
    assert response.status_code == 303, response.text
