"""Issue 11: the compliance dashboard's tables fit the screen at a laptop (1280 px) and a phone (390 px)
width. "Fit" is measured in the browser: the page never scrolls sideways, and a table wider than its
column scrolls inside its own region (or wraps), so its last column can be reached.

Screenshots go to test-artifacts/screenshots/dashboard-<width>.png (the referrer table alone:
dashboard-referrers-<width>.png, as in docs/web.md). Debian's chromium, never
`playwright install`; skipped when it is missing.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy.orm import Session

from eligibility.service import evaluate_and_record
from tests.web.seed import CASES, REPO, seed
from tests.web.test_browser import ARGS, CHROMIUM, serve

playwright_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not at /usr/bin/chromium")

SHOTS = REPO / "test-artifacts" / "screenshots"

# Per table: its width, its region's width, and whether the region can scroll to the table's end.
_MEASURE = """() => {
  const page = document.scrollingElement;
  const tables = [...document.querySelectorAll('section.report-table table')].map(t => {
    const wrap = t.closest('.table-wrap');
    return {id: t.id, table: t.getBoundingClientRect().width, region: wrap.clientWidth,
            scrolls: getComputedStyle(wrap).overflowX === 'auto' || getComputedStyle(wrap).overflowX === 'scroll',
            right: wrap.getBoundingClientRect().right};
  });
  return {page: page.scrollWidth, viewport: window.innerWidth, tables};
}"""


@pytest.mark.parametrize("width", [1280, 390])
def test_the_dashboard_fits_the_screen_and_its_tables_scroll_inside_it(tmp_path: Path, width: int) -> None:
    seeded = seed(f"sqlite:///{tmp_path / 'web.db'}", cases=4)
    # Every outcome column, and a referrer as long as a CDS client's name: what made the table too wide.
    for stem in ("008-", "009-", "074-", "003-"):
        document = orjson.loads(next(p for p in CASES if p.name.startswith(stem)).read_bytes())
        evaluate_and_record(
            orjson.dumps(document["bundle"]),
            as_of=date.fromisoformat(document["as_of"]),
            actor="drg-referral-app@https://ehr.example-hospital.org",
            channel="cds-hooks",
            session_factory=lambda: Session(seeded.engine),
        )
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        with serve(seeded) as base, playwright_api.sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
            context = browser.new_context(viewport={"width": width, "height": 900})
            page = context.new_page()
            page.goto(base + "/ui/compliance")
            page.get_by_label("API token").fill(seeded.tokens["ms.ward"])
            page.get_by_role("button", name="Sign in").click()
            playwright_api.expect(page.get_by_role("heading", name="Compliance dashboard")).to_be_visible()
            measured: dict[str, Any] = page.evaluate(_MEASURE)
            page.screenshot(path=str(SHOTS / f"dashboard-{width}.png"), full_page=True)
            referrers = page.locator("#table-decisions_by_referrer")
            playwright_api.expect(referrers).to_contain_text("drg-referral-app@https://ehr.example-hospital.org")
            section = page.locator("section.report-table", has=referrers)
            section.screenshot(path=str(SHOTS / f"dashboard-referrers-{width}.png"))
            browser.close()
    finally:
        seeded.engine.dispose()
    assert measured["page"] <= measured["viewport"], measured  # nothing sticks out of the page
    by_id = {t["id"]: t for t in measured["tables"]}
    assert "table-decisions_by_referrer" in by_id, measured
    for table in measured["tables"]:
        assert table["right"] <= measured["viewport"] + 0.5, table
        assert table["table"] <= table["region"] + 0.5 or table["scrolls"], table
    if width >= 1280:  # a laptop shows the referrer table whole, without scrolling
        referrer = by_id["table-decisions_by_referrer"]
        assert referrer["table"] <= referrer["region"] + 0.5, referrer
