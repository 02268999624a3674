"""The issue's walk-through in a real browser: Playwright drives Debian's chromium (headless).

A specialist signs in, filters the worklist, opens a case, follows an evidence link and overrides the
decision with a reason; then a compliance officer sees that override on the dashboard, in the
downloaded report and in the evidence pack. Screenshots of the main pages at laptop (1366x768) and
tablet (820x1180) widths go to test-artifacts/screenshots/.

Never `playwright install`: the test uses /usr/bin/chromium and is skipped when it is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from sqlalchemy.orm import Session

from eligibility.app import create_app
from eligibility.settings import Settings
from tests.serving import running
from tests.web.conftest import NoEvaluator
from tests.web.seed import REPO, Seeded, seed

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = REPO / "test-artifacts" / "screenshots"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LAPTOP = {"width": 1366, "height": 768}
TABLET = {"width": 820, "height": 1180}

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not at /usr/bin/chromium")


@contextmanager
def serve(seeded: Seeded) -> Iterator[str]:
    """The whole app (API and pages) under uvicorn on a free loopback port, in a thread."""
    app = create_app(
        Settings(environment="test"), session_factory=lambda: Session(seeded.engine), evaluator=NoEvaluator()
    )
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    with running(config) as base:
        yield base


def _sign_in(page: object, base: str, token: str, path: str = "/ui/worklist") -> None:
    page.goto(base + path)  # type: ignore[attr-defined]
    assert "/ui/login" in page.url  # type: ignore[attr-defined]
    page.get_by_label("API token").fill(token)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Sign in").click()  # type: ignore[attr-defined]


def _shot(page: object, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def test_specialist_overrides_and_compliance_sees_it(tmp_path: Path) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    seeded = seed(f"sqlite:///{tmp_path / 'browser.db'}", cases=10)
    case_id = seeded.decisions["example"]  # dr.rivera's
    expect = playwright_api.expect
    try:
        with serve(seeded) as base, playwright_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
            laptop = browser.new_context(viewport=LAPTOP, accept_downloads=True)
            page = laptop.new_page()

            # The specialist: sign in (after seeing the login page once, with a wrong token).
            page.goto(base + "/ui/worklist")
            page.get_by_label("API token").fill("drg_not-a-token")
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("alert")).to_contain_text("unknown or revoked")
            _shot(page, "laptop-01-login-error")
            page.get_by_label("API token").fill(seeded.tokens["dr.chen"])
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", name="Worklist")).to_be_visible()
            _shot(page, "laptop-02-worklist")

            # Keyboard: the first Tab reaches the skip link, which is then visible.
            page.keyboard.press("Tab")
            expect(page.get_by_role("link", name="Skip to content")).to_be_focused()

            # Filter by referrer: only dr.rivera's decisions remain.
            page.get_by_label("Referrer").select_option("dr.rivera")
            page.get_by_role("button", name="Apply filters").click()
            assert "referrer=dr.rivera" in page.url
            rows = page.locator("table.list tbody tr")
            expect(rows.first).to_be_visible()
            assert all("dr.rivera" in text for text in rows.all_inner_texts())
            assert "dr.okafor" not in " ".join(rows.all_inner_texts())
            _shot(page, "laptop-03-worklist-filtered")

            # Open the case; follow an evidence link; come back.
            page.get_by_role("link", name=case_id[:8]).click()
            expect(page.get_by_role("heading", name="Criteria")).to_be_visible()
            expect(page.locator("svg.chart")).to_be_visible()
            _shot(page, "laptop-04-case")
            page.get_by_role("link", name="Observation/pain-1").first.click()
            expect(page.get_by_role("heading", name="Observation/pain-1")).to_be_visible()
            expect(page.locator("pre.json")).to_contain_text('"id": "pain-1"')
            _shot(page, "laptop-05-evidence")
            page.go_back()

            # Override with a coded reason and a comment.
            page.get_by_label("Override it").check()
            page.get_by_label("New outcome (override only)").select_option("NEEDS_REVIEW")
            page.get_by_label("Reason").select_option("clinical-judgement")
            page.get_by_label("Comment").fill("Psychology review pending; discuss at the MDT first.")
            page.get_by_role("button", name="Record the review").click()
            expect(page.locator("#saved")).to_contain_text("Review recorded")
            expect(page.locator("#override-banner")).to_contain_text("NEEDS_REVIEW")
            expect(page.locator("#reviews")).to_contain_text("clinical-judgement")
            _shot(page, "laptop-06-case-overridden")
            page.get_by_role("button", name="Sign out").click()
            expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

            # The compliance officer: the override is on the dashboard and in the report.
            _sign_in(page, base, seeded.tokens["ms.ward"], "/ui/compliance")
            expect(page.get_by_role("heading", name="Compliance dashboard")).to_be_visible()
            expect(page.locator("dl.headline")).to_contain_text("Overridden1")
            reasons = page.locator("table", has_text="clinical-judgement")
            expect(reasons.first).to_contain_text("dr.chen")
            _shot(page, "laptop-07-dashboard")
            with page.expect_download() as csv_download:
                page.get_by_role("link", name="CSV").click()
            csv_text = Path(csv_download.value.path()).read_text(encoding="utf-8")
            assert "clinical-judgement" in csv_text and "dr.chen" in csv_text
            with page.expect_download() as html_download:
                page.get_by_role("link", name="HTML", exact=True).click()
            assert "clinical-judgement" in Path(html_download.value.path()).read_text(encoding="utf-8")

            # ... and in the case's evidence pack.
            page.goto(f"{base}/ui/decisions/{case_id}")
            with page.expect_download() as pack:
                page.get_by_role("link", name="Download the evidence pack (PDF)").click()
            assert Path(pack.value.path()).read_bytes().startswith(b"%PDF")
            laptop.close()

            # Tablet width: the same pages in one column.
            tablet = browser.new_context(viewport=TABLET)
            page = tablet.new_page()
            _sign_in(page, base, seeded.tokens["dr.chen"], "/ui/worklist?state=all")
            expect(page.get_by_role("heading", name="Worklist")).to_be_visible()
            _shot(page, "tablet-01-worklist")
            page.goto(f"{base}/ui/decisions/{case_id}")
            _shot(page, "tablet-02-case")
            page.goto(f"{base}/ui/compliance")
            expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
            _shot(page, "tablet-03-forbidden")
            tablet.close()
            tablet = browser.new_context(viewport=TABLET)
            page = tablet.new_page()
            _sign_in(page, base, seeded.tokens["ms.ward"], "/ui/compliance")
            _shot(page, "tablet-04-dashboard")
            tablet.close()
            browser.close()
    finally:
        seeded.engine.dispose()
