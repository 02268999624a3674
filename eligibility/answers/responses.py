"""Checking a QuestionnaireResponse against the Questionnaire it answers.

Every problem names the item (its linkId and its place in the response) so that the API can answer a
400 OperationOutcome pointing at it and the web form can show the message beside the field. What is
checked: the R4B model, the `questionnaire` canonical, the subject (the decision's patient), status,
unknown linkIds, answer types, choices among the options, integer ranges, required items, dates (on or
before the decision's as_of, since the new decision is made as of the same day) and string lengths
(the response is kept in the audit trail, so it is bounded).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from eligibility.answers.questionnaire import Group, Item, questionnaire_id
from eligibility.decision import Decision
from eligibility.errors import InputError

__all__ = ["MAX_GROUP_REPEATS", "MAX_TEXT", "AnswerError", "Answers", "Problem", "check_response", "problems_of"]

MAX_TEXT = 200
MAX_GROUP_REPEATS = 10
_VALUE_TYPES = {
    "date": "valueDate",
    "integer": "valueInteger",
    "boolean": "valueBoolean",
    "string": "valueString",
    "choice": "valueCoding",
}


@dataclass(frozen=True, slots=True)
class Problem:
    link_id: str | None
    location: str
    message: str


class AnswerError(InputError):
    """A QuestionnaireResponse that does not match its Questionnaire; `problems` lists every one found."""

    def __init__(self, problems: list[Problem] | str, *, location: str | None = None) -> None:
        if isinstance(problems, str):  # raised like any InputError, with one message
            problems = [Problem(None, location or "QuestionnaireResponse", problems)]
        first = problems[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(f"{first.message}{more}", location=first.location)
        self.problems = problems


@dataclass(slots=True)
class Answers:
    """The checked answers: per group, one dict per repeat of field name -> python value."""

    response: dict[str, Any]
    groups: list[tuple[Group, list[dict[str, Any]]]] = field(default_factory=list)

    @property
    def response_id(self) -> str:
        return str(self.response["id"])

    @property
    def authored(self) -> str:
        return str(self.response.get("authored", ""))


def _field(item: Item) -> str:
    return item.link_id.rsplit(".", 1)[1]


class _Checker:
    def __init__(self, groups: list[Group], decision: Decision) -> None:
        self.groups = {g.link_id: g for g in groups}
        self.decision = decision
        self.as_of = date.fromisoformat(decision.as_of)
        self.problems: list[Problem] = []

    def fail(self, link_id: str | None, location: str, message: str) -> None:
        self.problems.append(Problem(link_id, location, message))

    def header(self, response: dict[str, Any], base_url: str) -> None:
        expected = f"{base_url.rstrip('/')}/Questionnaire/{questionnaire_id(self.decision.decision_id)}"
        canonical = str(response.get("questionnaire", "")).split("|")[0]
        if not canonical.endswith(f"Questionnaire/{questionnaire_id(self.decision.decision_id)}"):
            self.fail(None, "QuestionnaireResponse.questionnaire", f"questionnaire must be {expected}")
        if response.get("status") not in {"completed", "amended"}:
            self.fail(None, "QuestionnaireResponse.status", "status must be completed (or amended) to be submitted")
        subject = (response.get("subject") or {}).get("reference")
        if subject != self.decision.patient.reference:
            self.fail(
                None,
                "QuestionnaireResponse.subject",
                f"subject is {subject!r}, but the questionnaire is about {self.decision.patient.reference}",
            )

    def items(self, response: dict[str, Any]) -> list[tuple[Group, list[dict[str, Any]]]]:
        seen: dict[str, list[dict[str, Any]]] = {}
        for i, entry in enumerate(response.get("item") or []):
            where = f"QuestionnaireResponse.item[{i}]"
            link = entry.get("linkId")
            group = self.groups.get(link)
            if group is None:
                self.fail(link, f"{where}.linkId", f"linkId {link!r} is not an item of this questionnaire")
                continue
            instances = seen.setdefault(group.link_id, [])
            if instances and not group.repeats:
                self.fail(link, where, f"group {link} is answered twice but does not repeat")
                continue
            if len(instances) >= MAX_GROUP_REPEATS:
                self.fail(link, where, f"group {link} is answered more than {MAX_GROUP_REPEATS} times")
                continue
            values = self.group(group, entry, where)
            if values:
                instances.append(values)
        found = []
        for link, group in self.groups.items():
            answered = seen.get(link, [])
            if group.required and not answered:
                for item in group.items:
                    if item.required:
                        self.fail(
                            item.link_id,
                            f"QuestionnaireResponse.item(linkId={link})",
                            f"{item.text}: an answer is required ({item.link_id})",
                        )
            found.append((group, answered))
        if not any(answered for _, answered in found) and not self.problems:
            self.fail(None, "QuestionnaireResponse.item", "the response answers none of the questions")
        return found

    def group(self, group: Group, entry: dict[str, Any], where: str) -> dict[str, Any]:
        items = {item.link_id: item for item in group.items}
        values: dict[str, Any] = {}
        for j, child in enumerate(entry.get("item") or []):
            place = f"{where}.item[{j}]"
            link = child.get("linkId")
            item = items.get(link)
            if item is None:
                self.fail(link, f"{place}.linkId", f"linkId {link!r} is not an item of group {group.link_id}")
                continue
            answers = child.get("answer") or []
            if len(answers) > 1:
                self.fail(link, place, f"{item.text}: one answer only ({link})")
                continue
            if answers and not item.read_only:
                value = self.value(item, answers[0], f"{place}.answer[0]")
                if value is not None:
                    values[_field(item)] = value
        for item in group.items:
            if (
                item.required
                and _field(item) not in values
                and not any(p.link_id == item.link_id for p in self.problems)
            ):
                self.fail(item.link_id, where, f"{item.text}: an answer is required ({item.link_id})")
        self.rules(group, values, where)
        return values

    def value(self, item: Item, answer: dict[str, Any], where: str) -> Any:
        keys = [k for k in answer if k.startswith("value")]
        expected = _VALUE_TYPES.get(item.type)
        if item.type == "open-choice":
            if keys == ["valueString"] and isinstance(answer["valueString"], str):
                text = answer["valueString"].strip()
                if not text or len(text) > MAX_TEXT:
                    self.fail(item.link_id, where, f"{item.text}: 1-{MAX_TEXT} characters ({item.link_id})")
                    return None
                return text
            expected = "valueCoding"
        if expected is None or keys != [expected]:
            self.fail(
                item.link_id,
                where,
                f"{item.text}: expected {expected}, got {', '.join(keys) or 'no value'} ({item.link_id})",
            )
            return None
        raw = answer[expected]
        if expected == "valueCoding":
            if not isinstance(raw, dict):
                self.fail(item.link_id, where, f"{item.text}: not a Coding ({item.link_id})")
                return None
            for option in item.options:
                if raw.get("system") == option[0] and raw.get("code") == option[1]:
                    return option
            self.fail(
                item.link_id,
                where,
                f"{item.text}: {raw.get('system')}|{raw.get('code')} is not one of the options ({item.link_id})",
            )
            return None
        if expected == "valueInteger":
            if isinstance(raw, bool) or not isinstance(raw, int):
                self.fail(item.link_id, where, f"{item.text}: expected a whole number ({item.link_id})")
                return None
            if (item.minimum is not None and raw < item.minimum) or (item.maximum is not None and raw > item.maximum):
                self.fail(
                    item.link_id, where, f"{item.text}: {raw} is outside {item.minimum}-{item.maximum} ({item.link_id})"
                )
                return None
            return raw
        if expected == "valueBoolean":
            if not isinstance(raw, bool):
                self.fail(item.link_id, where, f"{item.text}: expected true or false ({item.link_id})")
                return None
            return raw
        if expected == "valueDate":
            try:
                day = date.fromisoformat(str(raw))
            except ValueError:
                self.fail(item.link_id, where, f"{item.text}: {raw!r} is not a full date YYYY-MM-DD ({item.link_id})")
                return None
            if day > self.as_of or day.year < 1900:
                self.fail(
                    item.link_id,
                    where,
                    f"{item.text}: {day} must be from 1900-01-01 to the decision's as_of {self.as_of} ({item.link_id})",
                )
                return None
            return day
        if not isinstance(raw, str) or len(raw) > MAX_TEXT:
            self.fail(item.link_id, where, f"{item.text}: at most {MAX_TEXT} characters ({item.link_id})")
            return None
        return raw

    def rules(self, group: Group, values: dict[str, Any], where: str) -> None:
        """What one answer needs of another: a score needs its date, a done evaluation its date, a course an end."""
        link = group.link_id
        if ("score" in values) != ("score-date" in values) and any(
            i.link_id.endswith(".score-date") for i in group.items
        ):
            self.fail(f"{link}.score-date", where, f"a pain score and its date go together ({link}.score-date)")
        if group.kind == "medication_outcome" and not ({"score", "stopped"} & set(values)):
            self.fail(f"{link}.score", where, f"give a pain score on the medicine or why it was stopped ({link}.score)")
        if group.kind == "psych" and values.get("done") and "date" not in values:
            self.fail(f"{link}.date", where, f"Date of the evaluation: required when it was done ({link}.date)")
        start, end = values.get("start"), values.get("end")
        if isinstance(start, date) and isinstance(end, date) and end < start and group.kind != "pt_outcome":
            self.fail(f"{link}.end", where, f"the end {end} is before the start {start} ({link}.end)")


def _validate_model(response: dict[str, Any]) -> list[Problem]:
    """The R4B model's first problem, through fhir_adapters (the one place that imports the models)."""
    from fhir_adapters.models import validate_resource

    try:
        validate_resource(response, lambda path: f"QuestionnaireResponse.{path}" if path else "QuestionnaireResponse")
    except InputError as exc:
        message = exc.message.removeprefix("QuestionnaireResponse fails FHIR R4B validation: ")
        where = exc.location or "QuestionnaireResponse"
        return [Problem(None, where, f"not a valid R4 QuestionnaireResponse: {message}")]
    return []


def problems_of(
    groups: list[Group], response: Any, *, decision: Decision, base_url: str
) -> tuple[Answers | None, list[Problem]]:
    """The answers, or every problem found (the model's first; then the header and the items)."""
    if not isinstance(response, dict) or response.get("resourceType") != "QuestionnaireResponse":
        return None, [Problem(None, "resourceType", "the body must be a QuestionnaireResponse")]
    problems = _validate_model(response)
    if problems:
        return None, problems
    checker = _Checker(groups, decision)
    checker.header(response, base_url)
    found = checker.items(response)
    if checker.problems:
        return None, checker.problems
    return Answers(response=response, groups=[(g, v) for g, v in found if v]), []


def check_response(groups: list[Group], response: Any, *, decision: Decision, base_url: str) -> Answers:
    """The answers; AnswerError (an InputError: 400 at the API) naming the first item at fault."""
    answers, problems = problems_of(groups, response, decision=decision, base_url=base_url)
    if answers is None:
        raise AnswerError(problems)
    return answers
