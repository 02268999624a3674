"""The screening list and the paged worklist in a real browser (Debian's chromium, headless).

A specialist pages through a worklist of more than 50 decisions, opens the screening list, a run of
70 named candidates, filters it, promotes one, and finds it in the review queue. Screenshots at
laptop and tablet widths go to test-artifacts/screenshots/ (docs/screenshots/ holds copies).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from eligibility.service import Evaluated, Rejected, evaluate_one, record_batch
from tests.web.seed import seed
from tests.web.test_browser import ARGS, CHROMIUM, LAPTOP, SHOTS, TABLET, _shot, _sign_in, playwright_api, serve
from tests.web.test_screening import screened_bundle

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not at /usr/bin/chromium")

RUN = "7c1e9d42-3a5b-4f60-8e2d-91b0c4a7f5e3"
NAMES = [
    f"{given} {family}"
    for family in ("Lindqvist", "Abara", "Moreau", "Tanaka", "Kowalski", "Haddad", "O'Neill")
    for given in ("Ingrid", "Chidi", "Hélène", "Kenji", "Marta", "Samir", "Aoife", "Tomás", "Leila", "Piotr")
]


def _top(page: object, name: str) -> None:
    """The first screen of a long list (a full-page shot of 50 rows is too tall to read)."""
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)  # type: ignore[attr-defined]


def decide(n: int, name: str) -> Evaluated | Rejected:
    raw, as_of = screened_bundle(n, name)
    return evaluate_one(raw, as_of=as_of)


def test_specialist_pages_the_worklist_and_promotes_a_screening_candidate(tmp_path: Path) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    seeded = seed(f"sqlite:///{tmp_path / 'browser.db'}", cases=8)
    factory = lambda: Session(seeded.engine)  # noqa: E731 - the app's session factory, as in serve()
    point_of_care = [decide(n, f"Referred {NAMES[n]}") for n in range(56)]
    decided = [r for r in point_of_care if isinstance(r, Evaluated)]
    assert len(decided) > 50  # more than one page
    record_batch(decided, actor="dr.rivera", channel="fhir-api", session_factory=factory)
    run = [decide(n, NAMES[n]) for n in range(len(NAMES))]
    screened = [r for r in run if isinstance(r, Evaluated)]
    record_batch(screened, actor="batch", channel="batch", run_id=RUN, session_factory=factory)
    expect = playwright_api.expect
    try:
        with serve(seeded) as base, playwright_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
            laptop = browser.new_context(viewport=LAPTOP)
            page = laptop.new_page()
            _sign_in(page, base, seeded.tokens["dr.chen"], "/ui/worklist?state=all")
            expect(page.get_by_role("heading", name="Worklist")).to_be_visible()
            expect(page.get_by_role("navigation", name="Worklist pages").first).to_contain_text("page 1 of 2")
            page.get_by_role("navigation", name="Worklist pages", exact=True).get_by_role("link", name="Next").click()
            assert "page=2" in page.url and "state=all" in page.url
            expect(page.get_by_role("navigation", name="Worklist pages", exact=True)).to_contain_text("page 2 of 2")
            _top(page, "laptop-10-worklist-page-2")

            page.get_by_role("navigation", name="Main").get_by_role("link", name="Screening").click()
            expect(page.get_by_role("heading", name="Screening runs")).to_be_visible()
            expect(page.locator("table.list")).to_contain_text("batch")
            _shot(page, "laptop-11-screening-runs")
            page.get_by_role("link", name=RUN[:8]).click()
            expect(page.get_by_role("heading", name=f"Screening run {RUN[:8]}")).to_be_visible()
            expect(page.locator("table.list")).to_contain_text(NAMES[-1])
            _top(page, "laptop-12-screening-run")

            page.get_by_label("Patient (name or MRN)").fill("abara")
            page.get_by_role("button", name="Apply filters").click()
            rows = page.locator("table.list tbody tr")
            assert all("Abara" in text for text in rows.all_inner_texts())
            candidate = rows.first.locator("strong").first.inner_text()
            rows.first.get_by_role("button", name="Promote to review").click()
            expect(page.get_by_role("status")).to_contain_text("is now in the review queue")
            promoted_row = page.locator("table.list tbody tr").filter(has_text=candidate)
            expect(promoted_row).to_contain_text("promoted by dr.chen")
            _top(page, "laptop-13-screening-promoted")
            page.get_by_role("link", name="review queue").click()
            expect(page.locator("table.list tbody tr").first).to_contain_text(candidate)
            expect(page.locator("table.list tbody tr").first).to_contain_text("promoted from screening run")
            _top(page, "laptop-14-worklist-promoted")
            laptop.close()

            tablet = browser.new_context(viewport=TABLET)
            page = tablet.new_page()
            _sign_in(page, base, seeded.tokens["dr.chen"], f"/ui/screening/{RUN}")
            expect(page.get_by_role("heading", name=f"Screening run {RUN[:8]}")).to_be_visible()
            _top(page, "tablet-10-screening-run")
            page.goto(f"{base}/ui/screening")
            _shot(page, "tablet-11-screening-runs")
            tablet.close()
            browser.close()
    finally:
        seeded.engine.dispose()
