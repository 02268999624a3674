"""Answering a decision's open questions over FHIR: the Questionnaire, the QuestionnaireResponse, the new
decision, its audit trail, and bad responses refused with the item named and recorded."""

from __future__ import annotations

from typing import Any

import orjson
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse
from sqlalchemy.orm import Session

from eligibility.api.users import Role, add_user
from eligibility.audit.database import read_session
from eligibility.audit.replay import replay
from eligibility.audit.store import get_input
from tests.api.conftest import Api
from tests.api.helpers import case, records


def _submit(api: Api, name: str = "033-severity-no-score-in-window") -> dict[str, Any]:
    found = case(name)
    response = api.operate(orjson.dumps(found["bundle"]), params={"asOf": found["as_of"]})
    assert response.status_code == 200, response.text
    body = response.json()
    decision: dict[str, Any] = orjson.loads(body["parameter"][1]["valueString"])
    decision["_bundle"] = body["parameter"][0]["resource"]
    return decision


def _response(api: Api, decision: dict[str, Any], score: Any = 7, **overrides: Any) -> dict[str, Any]:
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"{api.base}/fhir/Questionnaire/q-{decision['decision_id']}",
        "status": "completed",
        "subject": decision["patient"],
        "authored": "2026-06-01T10:00:00Z",
        "item": [
            {
                "linkId": "pain_severity.0",
                "item": [
                    {"linkId": "pain_severity.0.score", "answer": [{"valueInteger": score}]},
                    {"linkId": "pain_severity.0.date", "answer": [{"valueDate": "2026-05-20"}]},
                ],
            }
        ],
        **overrides,
    }


def _post(api: Api, document: Any, role: Role = Role.REFERRER, **headers: str) -> Any:
    sent = {"Content-Type": "application/fhir+json", **api.bearer(role), **headers}
    return api.http.post("/fhir/QuestionnaireResponse", content=orjson.dumps(document), headers=sent)


def test_questionnaire_answers_and_a_new_recorded_decision_that_replays_identical(api: Api) -> None:
    old = _submit(api)
    assert old["outcome"] == "INSUFFICIENT_INFORMATION"
    canonical = f"{api.base}/fhir/Questionnaire/q-{old['decision_id']}"
    tasks = [e["resource"] for e in old["_bundle"]["entry"] if e["resource"]["resourceType"] == "Task"]
    data_task = next(t for t in tasks if t["status"] == "requested")
    assert {"valueCanonical": canonical}.items() <= next(i for i in data_task["input"] if "valueCanonical" in i).items()

    got = api.http.get(f"/fhir/Questionnaire/q-{old['decision_id']}", headers=api.bearer())
    assert got.status_code == 200, got.text
    questionnaire = got.json()
    Questionnaire.model_validate(questionnaire)
    assert questionnaire["url"] == canonical
    severity = next(g for g in questionnaire["item"] if g["linkId"] == "pain_severity.0")
    assert [i["type"] for i in severity["item"]] == ["integer", "date"] and severity["item"][0]["required"]

    answer = _response(api, old)
    QuestionnaireResponse.model_validate(answer)
    posted = _post(api, answer)
    assert posted.status_code == 200, posted.text
    parameters = {p["name"]: p for p in posted.json()["parameter"]}
    new = orjson.loads(parameters["decision"]["valueString"])
    assert new["outcome"] != "INSUFFICIENT_INFORMATION" and new["criteria"][4]["status"] == "met"
    assert new["as_of"] == old["as_of"] and new["policy"] == old["policy"]
    assert parameters["supersedes"]["valueReference"]["reference"] == f"GuidanceResponse/{old['decision_id']}"
    issues = parameters["return"]["resource"]["entry"]
    assert posted.text.count("reported by dr.referrer on ") >= 1, issues

    [_first, second] = records(api.engine, "decision")
    assert second.decision_id == new["decision_id"] and second.actor == "dr.referrer"
    provenance = second.data()["answers"]
    assert provenance["supersedes"] == old["decision_id"] and provenance["answered_by"] == "dr.referrer"
    assert second.data()["decision"] == new
    answered = [r for r in records(api.engine, "access") if r.data()["purpose"] == "answered"]
    assert [(r.decision_id, r.data()["query"]["superseded_by"]) for r in answered] == [
        (old["decision_id"], new["decision_id"])
    ]
    with read_session(api.engine) as session:
        stored = orjson.loads(get_input(session, second.input_sha256 or ""))
        kinds = [e["resource"]["resourceType"] for e in stored["entry"]]
        assert "QuestionnaireResponse" in kinds
        extracted = [
            e["resource"]
            for e in stored["entry"]
            if e["resource"]["id"] in {r.split("/")[1] for r in provenance["extracted"]}
        ]
        assert extracted and all(
            r["derivedFrom"] == [{"reference": provenance["questionnaire_response"]}] for r in extracted
        )
        assert replay(session, new["decision_id"]).identical

    read = api.http.get(f"/fhir/GuidanceResponse/{new['decision_id']}", headers=api.bearer()).json()
    notes = " ".join(n["text"] for n in read["note"])
    assert "reported by dr.referrer on " in notes and f"Supersedes GuidanceResponse/{old['decision_id']}" in notes

    again = _post(api, _response(api, old))  # answered once: the questions now belong to the new decision
    assert again.status_code == 400 and new["decision_id"] in again.json()["issue"][0]["diagnostics"]


def test_bad_responses_are_refused_naming_the_item_and_recorded(api: Api) -> None:
    old = _submit(api)
    base = _response(api, old)
    bad = {
        "range": (_response(api, old, score=11), "pain_severity.0.score"),
        "type": (_response(api, old, score="7"), "pain_severity.0.score"),
        "unknown linkId": ({**base, "item": [{"linkId": "no_such.0", "item": []}]}, "no_such.0"),
        "required": (
            {**base, "item": [{"linkId": "pain_severity.0", "item": [base["item"][0]["item"][1]]}]},
            "pain_severity.0.score",
        ),
        "wrong patient": ({**base, "subject": {"reference": "Patient/someone-else"}}, "Patient/someone-else"),
        "status": ({**base, "status": "in-progress"}, "status"),
    }
    before = len(records(api.engine, "rejection"))
    for what, (document, named) in bad.items():
        response = _post(api, document)
        assert response.status_code == 400, (what, response.text)
        issue = response.json()["issue"][0]
        assert response.json()["resourceType"] == "OperationOutcome"
        assert named in issue["diagnostics"] or named in str(issue.get("expression", issue.get("location"))), (
            what,
            issue,
        )
    rejections = records(api.engine, "rejection")
    assert len(rejections) == before + len(bad)
    assert all(r.actor == "dr.referrer" and r.channel == "fhir-api" for r in rejections[before:])
    assert len(records(api.engine, "decision")) == 1  # nothing decided from a bad response


def test_a_referrer_sees_and_answers_only_their_own_decisions(api: Api) -> None:
    old = _submit(api)
    with Session(api.engine) as session:
        other = add_user(session, name="dr.other", role=Role.REFERRER, actor="test", channel="cli")
        session.commit()
    headers = {"Authorization": f"Bearer {other}"}
    assert api.http.get(f"/fhir/Questionnaire/q-{old['decision_id']}", headers=headers).status_code == 404
    sent = {"Content-Type": "application/fhir+json", **headers}
    posted = api.http.post("/fhir/QuestionnaireResponse", content=orjson.dumps(_response(api, old)), headers=sent)
    assert posted.status_code == 404
    assert _post(api, _response(api, old), role=Role.SPECIALIST).status_code == 403  # specialists do not answer
