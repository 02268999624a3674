"""A referrer answers the open questions in a real browser (Playwright, Debian's chromium, headless) and
sees the new outcome: sign in, open the decision, a wrong answer shows its message beside the field, the
right one gives the new decision with what changed. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from tests.serving import running
from tests.web.answering import app_for, seed_unknown
from tests.web.seed import Seeded
from tests.web.test_browser import ARGS, CHROMIUM, LAPTOP, SHOTS

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not at /usr/bin/chromium")


@contextmanager
def serve(seeded: Seeded) -> Iterator[str]:
    config = uvicorn.Config(app_for(seeded), host="127.0.0.1", port=0, log_level="warning")  # type: ignore[arg-type]
    with running(config) as base:
        yield base


def test_a_referrer_answers_in_the_browser_and_sees_the_new_outcome(tmp_path: Path) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    seeded, old = seed_unknown(tmp_path / "browser-answers.db")
    expect = playwright_api.expect
    with serve(seeded) as base, playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        page: Any = browser.new_context(viewport=LAPTOP).new_page()
        page.goto(f"{base}/ui/decisions/{old}")
        page.get_by_label("API token").fill(seeded.tokens["dr.rivera"])
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator(".outcome.big")).to_have_text("INSUFFICIENT_INFORMATION")

        page.get_by_role("link", name="Answer the open questions").click()
        expect(page.get_by_role("heading", name="Answer the open questions")).to_be_visible()
        page.get_by_label("Current pain score (0-10)").fill("12")
        page.get_by_label("Date of that score").fill("2026-05-20")
        page.get_by_role("button", name="Send the answers and decide again").click()
        expect(page.locator("#f-pain_severity-0-score-err")).to_contain_text("outside 0-10")
        page.screenshot(path=str(SHOTS / "laptop-answers-01-error.png"), full_page=True)

        page.get_by_label("Current pain score (0-10)").fill("7")
        page.get_by_label("Smoking status").select_option(label="Never smoker")
        page.get_by_role("button", name="Send the answers and decide again").click()
        expect(page.locator("#answered-banner")).to_contain_text("Answered, re-decided")
        expect(page.locator(".outcome.big")).not_to_have_text("INSUFFICIENT_INFORMATION")
        expect(page.locator("#changes")).to_contain_text("pain severity")
        expect(page.locator("table.criteria")).to_contain_text("(questionnaire)")
        page.screenshot(path=str(SHOTS / "laptop-answers-02-new-decision.png"), full_page=True)

        page.get_by_role("link", name="Worklist").first.click()
        expect(page.locator("span.marker.answered")).to_have_text("answered, re-decided")
        browser.close()
