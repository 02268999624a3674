"""The web form's fields <-> a QuestionnaireResponse, so a form goes through the same checks as the API.

Field names are the items' linkIds; a repeating group's n-th row is `<linkId>~<n>` in front of the item's
own suffix (`failed_medications.0~1.drug`); a choice is posted as "system|code"; an open choice may also
come as `<linkId>.text`. Empty fields are no answer.
"""

from __future__ import annotations

from typing import Any

from eligibility.answers.choices import MEDICATION_SLOTS
from eligibility.answers.questionnaire import Group, Item
from eligibility.answers.responses import Problem

__all__ = ["field_name", "response_from_fields", "rows_of"]


def rows_of(group: Group) -> int:
    return MEDICATION_SLOTS if group.repeats else 1


def field_name(group: Group, row: int, item: Item) -> str:
    if not group.repeats:
        return item.link_id
    return f"{group.link_id}~{row}.{item.link_id.rsplit('.', 1)[1]}"


def _answer(item: Item, text: str, name: str, problems: list[Problem]) -> dict[str, Any] | None:
    if item.type == "integer":
        try:
            return {"valueInteger": int(text)}
        except ValueError:
            problems.append(Problem(item.link_id, name, f"{item.text}: {text!r} is not a whole number"))
            return None
    if item.type == "boolean":
        if text not in {"true", "false"}:
            problems.append(Problem(item.link_id, name, f"{item.text}: choose yes or no"))
            return None
        return {"valueBoolean": text == "true"}
    if item.type in {"choice", "open-choice"}:
        system, _, code = text.rpartition("|")
        return {"valueCoding": {"system": system, "code": code}}
    if item.type == "date":
        return {"valueDate": text}
    return {"valueString": text}


def response_from_fields(
    groups: list[Group], fields: dict[str, str], *, questionnaire: str, subject: str, authored: str
) -> tuple[dict[str, Any], list[Problem]]:
    """The QuestionnaireResponse the form's fields make, and the problems of fields that are not even values."""
    problems: list[Problem] = []
    items: list[dict[str, Any]] = []
    for group in groups:
        for row in range(rows_of(group)):
            answered: list[dict[str, Any]] = []
            for item in group.items:
                if item.read_only:
                    continue
                name = field_name(group, row, item)
                text = fields.get(name, "").strip()
                answer = _answer(item, text, name, problems) if text else None
                if item.type == "open-choice" and answer is None:
                    free = fields.get(f"{name}.text", "").strip()
                    answer = {"valueString": free} if free else None
                if answer is not None:
                    answered.append({"linkId": item.link_id, "answer": [answer]})
            if answered:
                items.append({"linkId": group.link_id, "item": answered})
    response = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": questionnaire,
        "status": "completed",
        "subject": {"reference": subject},
        "authored": authored,
        "item": items,
    }
    return response, problems
