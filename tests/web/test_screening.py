"""The screening list, promotion to review and the paged worklist, through the app (SQLite).

A trail with point-of-care decisions (seed.py) and a screening run of 60 real evaluations, recorded
through `record_batch` with a run id as `drg-eligibility batch` records them. The list queries
themselves run on both backends in tests/audit/test_worklist_index.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient

from eligibility.audit import store
from eligibility.service import Evaluated, evaluate_one, record_batch
from tests.web.conftest import csrf_of, login, make_client
from tests.web.seed import CASES, Seeded, seed

RUN = "0f3c2a9e-5b1d-4c7e-9a2f-6d8e1b4c3a70"
RUN_SIZE = 60
HOSTILE = '=HYPERLINK("http://evil.example/","x")'


def screened_bundle(n: int, name: str | None = None) -> tuple[bytes, date]:
    """Decision case n % 8's bundle, its Patient renamed (`name`, or "Screened PersonNN") with MRN SCRnnnn."""
    document = orjson.loads(CASES[n % 8].read_bytes())
    bundle = document["bundle"]
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Patient":
            name = name or (HOSTILE if n == 0 else f"Screened Person{n:02d}")
            resource["name"] = [{"text": name}]
            resource["identifier"] = [{"system": "urn:example:mrn", "value": f"SCR{n:04d}"}]
    return orjson.dumps(bundle), date.fromisoformat(document["as_of"])


@pytest.fixture(scope="module")
def screened(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    path: Path = tmp_path_factory.mktemp("screening") / "web.db"
    data = seed(f"sqlite:///{path}", cases=4)
    results = []
    for n in range(RUN_SIZE * 2):  # some cases are rejections by design; keep the first 60 decisions
        raw, as_of = screened_bundle(n)
        result = evaluate_one(raw, as_of=as_of)
        if isinstance(result, Evaluated):
            results.append(result)
        if len(results) == RUN_SIZE:
            break
    from sqlalchemy.orm import Session

    record_batch(results, actor="batch", channel="batch", run_id=RUN, session_factory=lambda: Session(data.engine))
    data.decisions.update({f"screened-{n}": r.decision.decision_id for n, r in enumerate(results)})
    yield data
    data.engine.dispose()


@pytest.fixture
def client(screened: Seeded) -> Iterator[TestClient]:
    with make_client(screened) as running:
        yield running


def test_screening_results_are_not_in_the_review_queue(client: TestClient, screened: Seeded) -> None:
    login(client, screened.tokens["dr.chen"])
    page = client.get("/ui/worklist?state=all").text
    assert screened.decisions["screened-1"] not in page and screened.decisions["example"] in page
    assert 'href="/ui/screening"' in page  # the lead and the navigation point to the screening list


def test_the_screening_list_shows_runs_with_who_when_and_counts(client: TestClient, screened: Seeded) -> None:
    login(client, screened.tokens["ms.ward"])  # compliance may read any decision, so any run
    page = client.get("/ui/screening").text
    assert "1 screening run" in page and RUN[:8] in page and f">{RUN_SIZE}<" in page
    assert "<td data-label=\"By\">batch</td>" in page
    assert f'href="/ui/screening/{RUN}?outcome=' in page


def test_a_run_pages_its_decisions_and_names_its_candidates(client: TestClient, screened: Seeded) -> None:
    login(client, screened.tokens["dr.chen"])
    first = client.get(f"/ui/screening/{RUN}").text
    assert "Showing <strong>1–50</strong> of <strong>60</strong>" in first
    assert f'href="/ui/screening/{RUN}?page=2" rel="next"' in first
    assert "Screened Person59" in first and "Screened Person05" not in first  # newest first
    second = client.get(f"/ui/screening/{RUN}?page=2").text
    assert "Showing <strong>51–60</strong> of <strong>60</strong>" in second and "Screened Person05" in second
    found = client.get(f"/ui/screening/{RUN}?patient=scr0007").text
    assert "Screened Person07" in found and "Screened Person08" not in found
    assert "<h2 id=\"results-h\">1 decision</h2>" in found
    # The page controls keep the filters.
    filtered = client.get(f"/ui/screening/{RUN}?outcome=NOT_ELIGIBLE").text
    assert "NOT_ELIGIBLE" in filtered
    assert client.get(f"/ui/screening/{RUN}?outcome=MAYBE").status_code == 400
    assert client.get("/ui/screening/no-such-run").status_code == 404


def test_promotion_puts_a_candidate_in_the_queue_and_is_recorded(client: TestClient, screened: Seeded) -> None:
    decision_id = screened.decisions["screened-3"]
    login(client, screened.tokens["dr.chen"])
    page = client.get(f"/ui/screening/{RUN}?patient=SCR0003").text
    assert f'action="/ui/decisions/{decision_id}/promote"' in page
    refused = client.post(f"/ui/decisions/{decision_id}/promote", data={"csrf": "forged"})
    assert refused.status_code == 403
    form = {"csrf": csrf_of(page), "page": "1", "patient": "SCR0003", "outcome": "MAYBE"}
    response = client.post(f"/ui/decisions/{decision_id}/promote", data=form)
    assert response.status_code == 303  # back to the same page and search (an unknown outcome dropped)
    assert response.headers["location"] == f"/ui/screening/{RUN}?patient=SCR0003&page=1&promoted={decision_id}"
    assert "is now in the" in client.get(response.headers["location"]).text
    queue = client.get("/ui/worklist").text
    assert decision_id in queue and f"screening run {RUN[:8]}</a> by dr.chen" in queue
    again = client.post(f"/ui/decisions/{decision_id}/promote", data={"csrf": csrf_of(page)})
    assert again.status_code == 409 and "was promoted to review by dr.chen" in again.text
    assert client.post("/ui/decisions/no-such-decision/promote", data={"csrf": csrf_of(page)}).status_code == 404
    point_of_care = screened.decisions["example"]
    assert client.post(f"/ui/decisions/{point_of_care}/promote", data={"csrf": csrf_of(page)}).status_code == 409
    with screened.session() as session:
        (promotion,) = [r for r in store.decision_history(session, decision_id) if r.kind == "promotion"]
        assert (promotion.actor, promotion.channel, promotion.data()["run"]) == ("dr.chen", "web", RUN)


def test_who_may_see_and_promote(client: TestClient, screened: Seeded) -> None:
    login(client, screened.tokens["dr.rivera"])  # a referrer reads only their own: no screening list
    assert client.get("/ui/screening").status_code == 403
    assert client.get(f"/ui/screening/{RUN}/decisions.csv").status_code == 403
    assert 'href="/ui/screening"' not in client.get("/ui/worklist").text
    login(client, screened.tokens["ms.ward"])  # compliance reads runs but does not review
    page = client.get(f"/ui/screening/{RUN}").text
    assert "/promote" not in page and "not in the queue" in page
    decision_id = screened.decisions["screened-4"]
    assert client.post(f"/ui/decisions/{decision_id}/promote", data={"csrf": csrf_of(page)}).status_code == 403


def test_the_run_csv_names_candidates_escapes_formulas_and_is_recorded(client: TestClient, screened: Seeded) -> None:
    login(client, screened.tokens["ms.ward"])
    response = client.get(f"/ui/screening/{RUN}/decisions.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert f'filename="screening-{RUN}.csv"' in response.headers["content-disposition"]
    lines = response.text.splitlines()
    assert lines[0].startswith("decision_id,recorded_at,patient_ref,patient_name,mrn,birth_date,sex,outcome")
    assert len(lines) == RUN_SIZE + 1
    assert "'=HYPERLINK(" in response.text and ',"=HYPERLINK(' not in response.text
    with screened.session() as session:
        exports = [
            r.data()["query"] for r in store.iter_records(session, kinds=["access"])
            if r.data()["purpose"] == "screening-export"
        ]  # fmt: skip
    assert {"run": RUN, "format": "csv"} in exports
    assert client.get("/ui/screening/no-such-run/decisions.csv").status_code == 404


def test_the_worklist_pages_in_the_html(tmp_path: Path) -> None:
    """60 point-of-care decisions: two pages of 50, with links that keep the filters."""
    from sqlalchemy.orm import Session

    data = seed(f"sqlite:///{tmp_path}/many.db", cases=2)
    results = []
    for n in range(60):
        raw, as_of = screened_bundle(n % 2)
        result = evaluate_one(raw, as_of=as_of)
        assert isinstance(result, Evaluated)
        results.append(result)
    record_batch(results, actor="dr.rivera", channel="fhir-api", session_factory=lambda: Session(data.engine))
    with make_client(data) as client:
        login(client, data.tokens["dr.chen"])
        first = client.get("/ui/worklist?state=all").text
        total = 60 + len(data.decisions)
        assert f"Showing <strong>1–50</strong> of <strong>{total}</strong>" in first
        assert 'href="/ui/worklist?state=all&amp;page=2" rel="next"' in first
        second = client.get("/ui/worklist?state=all&page=2").text
        assert f"Showing <strong>51–{total}</strong> of <strong>{total}</strong>" in second
        assert first.count('<td data-label="Decision">') == 50
        assert second.count('<td data-label="Decision">') == total - 50
        filtered = client.get("/ui/worklist?state=all&referrer=dr.rivera&page=2").text
        assert 'href="/ui/worklist?state=all&amp;referrer=dr.rivera&amp;page=1" rel="prev"' in filtered
        assert client.get("/ui/worklist?page=0").status_code == 400
    data.engine.dispose()


def test_compliance_counts_screening_results_apart_from_the_review_queue(screened: Seeded) -> None:
    """A 60-patient screening run is not 60 decisions "awaiting review": only the queue's are."""
    from sqlalchemy.orm import Session

    from eligibility.audit.checkpoints import signer_from_settings
    from eligibility.audit.verify import verify
    from eligibility.settings import Settings
    from reports.compliance import compliance_summary, load_period

    today = datetime.now(UTC).date()
    with Session(screened.engine) as session:
        records = list(store.iter_records(session))
        frames = load_period(session, start=today, end=today)
        verification = verify(session, signer=signer_from_settings(Settings(environment="test")))
    promoted = {r.decision_id for r in records if r.kind == "promotion"}
    reviewed = {r.decision_id for r in records if r.kind == "review"}
    run = {r.decision_id for r in records if r.kind == "decision" and r.channel == "batch"}
    point_of_care = {r.decision_id for r in records if r.kind == "decision" and r.channel != "batch"}
    report = compliance_summary(frames, verification=verification)
    h = report.headline
    assert len(run) == RUN_SIZE and point_of_care
    assert h.screening_only == len(run - promoted - reviewed) >= RUN_SIZE - 2
    assert h.awaiting_review == len((point_of_care | (run & promoted)) - reviewed) < len(point_of_care) + 3
