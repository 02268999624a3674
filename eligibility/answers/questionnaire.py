"""A decision's data requests as a FHIR R4 Questionnaire in the SDC style (one group per request).

The Questionnaire is not stored: it is a pure function of the recorded decision, its stored input and its
policy, so it is the same every time it is read and a QuestionnaireResponse can always be checked against
the exact questions that were asked. Each group's linkId is `<criterion>.<n>` (the n-th data request of
that criterion); items are `<group>.<field>`. Items are pre-filled (`initial`) with what the record already
holds where that is a fact, not a guess (a PT course's dates, the medicines taken), and `required` where the
criterion cannot be settled without the answer. Two groups ask what no criterion is unknown for but the
preparation actions need: smoking status (when the record holds none) and a current anticoagulant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from eligibility.answers.choices import (
    DIAGNOSIS_CHOICES,
    INTERVENTION_CHOICES,
    OUTCOME_CHOICES,
    RXNORM,
    SMOKING_CHOICES,
    SNOMED,
    STOP_CHOICES,
)
from eligibility.decision import Criterion, Decision, Evidence
from eligibility.policy import Policy

__all__ = [
    "Group",
    "Item",
    "build_questionnaire",
    "questionnaire_id",
    "questionnaire_items",
]

_MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
_MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"
_REGIONS_SHOWN = ("foot", "knee", "groin", "lower_limb", "hand", "chest", "abdomen", "lower_back", "neck")
_CLASS_IN_REQUEST = re.compile(r"^Record the outcome of (.+?) therapy")


@dataclass(frozen=True, slots=True)
class Item:
    """One question: its linkId, FHIR item type and what an answer may be."""

    link_id: str
    text: str
    type: str  # date | integer | choice | open-choice | boolean | string | display
    required: bool = False
    options: tuple[tuple[str, str, str], ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    initial: Any = None  # a python value: str for date/string, int, bool, or a (system, code, display)
    read_only: bool = False


@dataclass(slots=True)
class Group:
    link_id: str
    text: str
    criterion: str | None
    kind: str  # what extraction makes of it (extraction.py)
    items: list[Item] = field(default_factory=list)
    repeats: bool = False
    # A group may be left out (the referrer answers what they can; what is left stays unknown); inside an
    # answered group its required items must be answered.
    required: bool = False
    context: dict[str, Any] = field(default_factory=dict)  # facts of the record the extraction needs


def questionnaire_id(decision_id: str) -> str:
    """FHIR ids are at most 64 of [A-Za-z0-9-.]; decision ids are 36-character uuids."""
    return f"q-{decision_id}"


def _evidence_resources(canonical: bytes) -> dict[str, dict[str, Any]]:
    bundle = orjson.loads(canonical)
    found: dict[str, dict[str, Any]] = {}
    for entry in bundle.get("entry", []):
        resource = entry.get("resource") or {}
        found[f"{resource.get('resourceType')}/{resource.get('id')}"] = resource
        if entry.get("fullUrl"):
            found[str(entry["fullUrl"])] = resource
    return found


def _regions(policy: Policy) -> tuple[tuple[str, str, str], ...]:
    """One SNOMED body site per region, from the policy's own table (so the answer is read as asked)."""
    table: dict[str, str] = policy.valuesets["regions"]["body_sites_snomed"]
    first: dict[str, str] = {}
    for code, region in table.items():
        first.setdefault(region, code)
    return tuple((SNOMED, first[r], r.replace("_", " ")) for r in _REGIONS_SHOWN if r in first)


def _ingredient_choices(policy: Policy, classes: set[str] | None) -> tuple[tuple[str, str, str], ...]:
    names: dict[str, str] = policy.valuesets["rxnorm_ingredients"]["rxnorm"]
    by_class: dict[str, str] = policy.valuesets["analgesic_classes"]["rxnorm"]
    chosen = [
        (code, name)
        for code, name in names.items()
        if code in by_class and (classes is None or by_class[code] in classes)
    ]
    return tuple(
        (RXNORM, code, f"{name} ({by_class[code].replace('_', ' ')})")
        for code, name in sorted(chosen, key=lambda t: t[1])
    )


def _antithrombotic_choices(policy: Policy) -> tuple[tuple[str, str, str], ...]:
    names: dict[str, str] = policy.valuesets["rxnorm_ingredients"]["rxnorm"]
    code_of = {name: code for code, name in names.items()}
    entries: dict[str, Any] = policy.holds["entries"]
    wanted = {"anticoagulant", "antiplatelet", "vka", "doac", "lmwh", "ufh"}
    chosen = [
        (RXNORM, code_of[name], f"{name} ({entry.get('class', '').replace('_', ' ')})")
        for name, entry in sorted(entries.items())
        if name in code_of and entry.get("class") in wanted
    ]
    return tuple(chosen)


def _date_of(evidence: list[Evidence], prefix: str) -> list[str]:
    return sorted(e.date[:10] for e in evidence if e.reference.startswith(prefix) and e.date)


class _Builder:
    def __init__(self, decision: Decision, canonical: bytes, policy: Policy) -> None:
        self.decision = decision
        self.policy = policy
        self.resources = _evidence_resources(canonical)
        self.groups: list[Group] = []

    def group(self, criterion: Criterion | None, index: int, text: str, kind: str, **kw: Any) -> Group:
        link = f"{criterion.id if criterion else kind}.{index}"
        found = Group(link, text, criterion.id if criterion else None, kind, **kw)
        self.groups.append(found)
        return found

    def build(self) -> list[Group]:
        for criterion in self.decision.criteria:
            if criterion.status != "unknown":
                continue
            for index, request in enumerate(criterion.data_requests):
                self._criterion_group(criterion, index, request.description)
        self._safety_groups()
        return self.groups

    def _criterion_group(self, c: Criterion, i: int, text: str) -> None:
        add = getattr(self, f"_{c.id}", None)
        if add is not None:
            add(c, i, text)

    # --- one method per criterion that can be unknown ------------------------------------------

    def _adult(self, c: Criterion, i: int, text: str) -> None:
        g = self.group(c, i, text, "birth_date")
        g.items.append(Item(f"{g.link_id}.birth-date", "Date of birth", "date", required=True))

    def _diagnosis_context(self, c: Criterion) -> dict[str, Any]:
        """The qualifying diagnosis the site or onset is about (the evidence of qualifying_diagnosis when met)."""
        diagnosis = [x for x in self.decision.criteria if x.id == "qualifying_diagnosis" and x.status == "met"]
        for evidence in [*c.evidence, *(e for x in diagnosis for e in x.evidence)]:
            resource = self.resources.get(evidence.reference)
            if resource and resource.get("resourceType") == "Condition" and resource.get("code"):
                return {"code": resource["code"], "from": evidence.reference}
        return {}

    def _qualifying_diagnosis(self, c: Criterion, i: int, text: str) -> None:
        g = self.group(c, i, text, "condition")
        g.items += [
            # Where and since when are asked by the pain_location / pain_duration groups, unknown with it.
            Item(f"{g.link_id}.diagnosis", "Pain diagnosis", "choice", required=True, options=DIAGNOSIS_CHOICES),
        ]

    def _pain_location(self, c: Criterion, i: int, text: str) -> None:
        g = self.group(c, i, text, "condition", context=self._diagnosis_context(c))
        g.items.append(
            Item(f"{g.link_id}.body-site", "Where the pain is", "choice", required=True, options=_regions(self.policy))
        )

    def _pain_duration(self, c: Criterion, i: int, text: str) -> None:
        g = self.group(c, i, text, "condition", context=self._diagnosis_context(c))
        g.items.append(Item(f"{g.link_id}.onset", "Onset of the pain (date)", "date", required=True))

    def _pain_severity(self, c: Criterion, i: int, text: str) -> None:
        g = self.group(c, i, text, "pain_score")
        g.items += [
            Item(f"{g.link_id}.score", "Current pain score (0-10)", "integer", required=True, minimum=0, maximum=10),
            Item(f"{g.link_id}.date", "Date of that score", "date", required=True, initial=self.decision.as_of),
        ]

    def _failed_medications(self, c: Criterion, i: int, text: str) -> None:
        by_class: dict[str, str] = self.policy.valuesets["analgesic_classes"]["rxnorm"]
        names: dict[str, str] = self.policy.valuesets["rxnorm_ingredients"]["rxnorm"]
        code_of = {name: code for code, name in names.items()}
        match = _CLASS_IN_REQUEST.match(text)
        if match is None:  # nothing on record: rows of medicines tried
            g = self.group(c, i, text, "medications_tried", repeats=True)
            g.items += [
                Item(
                    f"{g.link_id}.drug",
                    "Analgesic",
                    "choice",
                    required=True,
                    options=_ingredient_choices(self.policy, None),
                ),
                Item(f"{g.link_id}.start", "Taken from (date)", "date", required=True),
                Item(f"{g.link_id}.end", "Taken until (date; empty if still taken)", "date"),
                *self._medication_outcome_items(g.link_id),
            ]
            return
        cls = match.group(1).replace(" ", "_")
        taken = []
        for evidence in c.evidence:
            name = (evidence.value or "").split(" (")[0]
            if evidence.reference.startswith("Medication") and by_class.get(code_of.get(name, "")) == cls:
                taken.append((code_of[name], name, evidence.reference))
        g = self.group(c, i, text, "medication_outcome", context={"class": cls, "taken": taken})
        shown = ", ".join(f"{name} ({ref})" for _, name, ref in taken) or cls.replace("_", " ")
        g.items += [
            Item(f"{g.link_id}.medication", "Medication on record", "string", initial=shown, read_only=True),
            *self._medication_outcome_items(g.link_id),
        ]

    def _medication_outcome_items(self, link: str) -> list[Item]:
        return [
            Item(f"{link}.stopped", "Why it was stopped, if it was", "choice", options=STOP_CHOICES),
            Item(
                f"{link}.score", "Pain score while on it, at least 4 weeks in (0-10)", "integer", minimum=0, maximum=10
            ),
            Item(f"{link}.score-date", "Date of that score", "date"),
        ]

    def _failed_physical_therapy(self, c: Criterion, i: int, text: str) -> None:
        days = _date_of(c.evidence, "")
        if days:
            g = self.group(c, i, text, "pt_outcome", context={"start": days[0], "end": days[-1]})
            g.items += [
                Item(f"{g.link_id}.start", "Course started", "date", initial=days[0], read_only=True),
                Item(f"{g.link_id}.end", "Course ended", "date", initial=days[-1], read_only=True),
                Item(f"{g.link_id}.outcome", "Outcome of the course", "choice", required=True, options=OUTCOME_CHOICES),
            ]
            return
        g = self.group(c, i, text, "pt_course")
        g.items += [
            Item(f"{g.link_id}.start", "First session (date)", "date", required=True),
            Item(f"{g.link_id}.end", "Last session (date)", "date", required=True),
            Item(f"{g.link_id}.sessions", "Number of sessions", "integer", minimum=1, maximum=200),
            Item(f"{g.link_id}.outcome", "Outcome of the course", "choice", required=True, options=OUTCOME_CHOICES),
        ]

    def _failed_interventional(self, c: Criterion, i: int, text: str) -> None:
        done = [e for e in c.evidence if e.reference.startswith("Procedure") and e.date]
        if done:
            procedures = []
            g = self.group(c, i, text, "intervention_outcome")
            for k, evidence in enumerate(done):
                resource = self.resources.get(evidence.reference, {})
                procedures.append({"from": evidence.reference, "date": evidence.date, "code": resource.get("code")})
                g.items.append(
                    Item(
                        f"{g.link_id}.outcome-{k}",
                        f"Outcome of the {evidence.value or 'procedure'} on {(evidence.date or '')[:10]} "
                        f"({evidence.reference})",
                        "choice",
                        required=True,
                        options=OUTCOME_CHOICES,
                    )
                )
            g.context["procedures"] = procedures
            return
        g = self.group(c, i, text, "intervention")
        g.items += [
            Item(f"{g.link_id}.kind", "Injection or block", "choice", required=True, options=INTERVENTION_CHOICES),
            Item(f"{g.link_id}.date", "Date done", "date", required=True),
            Item(f"{g.link_id}.outcome", "Outcome", "choice", required=True, options=OUTCOME_CHOICES),
        ]

    def _psychological_evaluation(self, c: Criterion, i: int, text: str) -> None:
        g = self.group(c, i, text, "psych")
        g.items += [
            Item(f"{g.link_id}.done", "Psychological evaluation for neuromodulation done?", "boolean", required=True),
            Item(f"{g.link_id}.date", "Date of the evaluation", "date"),
            Item(f"{g.link_id}.favourable", "Was the result favourable?", "boolean"),
        ]

    def _trial_response(self, c: Criterion, i: int, text: str) -> None:
        g = self.group(c, i, text, "trial_scores")
        g.items += [
            Item(f"{g.link_id}.score", "Pain score (0-10)", "integer", required=True, minimum=0, maximum=10),
            Item(f"{g.link_id}.date", "Date of that score", "date", required=True),
        ]

    # --- what the preparation actions need ----------------------------------------------------

    def _safety_groups(self) -> None:
        smoking = set(self.policy.valuesets["smoking_status"]["loinc"])
        recorded = any(
            r.get("resourceType") == "Observation"
            and any(cd.get("code") in smoking for cd in (r.get("code") or {}).get("coding", []) if isinstance(cd, dict))
            for r in self.resources.values()
        )
        if not recorded:
            g = self.group(None, 0, "Tobacco smoking status (LOINC 72166-2)", "smoking")
            g.items.append(Item(f"{g.link_id}.status", "Smoking status", "choice", options=SMOKING_CHOICES))
        g = self.group(None, 0, "A current anticoagulant or antiplatelet medicine not in the record", "anticoagulant")
        g.items.append(
            Item(
                f"{g.link_id}.drug",
                "Medicine taken now (choose, or type its name)",
                "open-choice",
                options=_antithrombotic_choices(self.policy),
            )
        )


def questionnaire_items(decision: Decision, canonical: bytes, *, policy: Policy) -> list[Group]:
    """The groups and items of the decision's Questionnaire (empty when nothing is unknown)."""
    if not any(c.status == "unknown" and c.data_requests for c in decision.criteria):
        return []
    return _Builder(decision, canonical, policy).build()


def _coding(option: tuple[str, str, str]) -> dict[str, str]:
    return {"system": option[0], "code": option[1], "display": option[2]}


_VALUE_KEY = {"date": "valueDate", "integer": "valueInteger", "boolean": "valueBoolean", "string": "valueString"}


def _item_json(item: Item) -> dict[str, Any]:
    out: dict[str, Any] = {"linkId": item.link_id, "text": item.text, "type": item.type}
    if item.required:
        out["required"] = True
    if item.read_only:
        out["readOnly"] = True
    extensions = []
    if item.minimum is not None:
        extensions.append({"url": _MIN_VALUE, "valueInteger": item.minimum})
    if item.maximum is not None:
        extensions.append({"url": _MAX_VALUE, "valueInteger": item.maximum})
    if extensions:
        out["extension"] = extensions
    if item.options:
        out["answerOption"] = [{"valueCoding": _coding(o)} for o in item.options]
    if item.initial is not None:
        out["initial"] = [{_VALUE_KEY[item.type]: item.initial}]
    return out


def build_questionnaire(decision: Decision, canonical: bytes, *, policy: Policy, base_url: str) -> dict[str, Any]:
    """The Questionnaire resource (R4) for `decision`; `base_url` is the service's FHIR base."""
    qid = questionnaire_id(decision.decision_id)
    base = base_url.rstrip("/")
    groups = questionnaire_items(decision, canonical, policy=policy)
    return {
        "resourceType": "Questionnaire",
        "id": qid,
        "meta": {"profile": ["http://hl7.org/fhir/uv/sdc/StructureDefinition/sdc-questionnaire"]},
        "url": f"{base}/Questionnaire/{qid}",
        "version": decision.decision_id,
        "name": "DrgCandidacyOpenQuestions",
        "title": f"Open questions of DRG candidacy decision {decision.decision_id}",
        "status": "active",
        "subjectType": ["Patient"],
        "date": decision.evaluated_at,
        "description": (
            f"What would settle the criteria the decision of {decision.as_of} could not decide for "
            f"{decision.patient.reference}. Answers are checked against these questions, turned into FHIR resources "
            "and evaluated again under the same policy and as_of; dates are on or before the as_of."
        ),
        "derivedFrom": [f"{base}/GuidanceResponse/{decision.decision_id}"],
        "item": [
            {
                "linkId": g.link_id,
                "text": g.text,
                "type": "group",
                **({"required": True} if g.required and not g.repeats else {}),
                **({"repeats": True} if g.repeats else {}),
                "item": [_item_json(item) for item in g.items],
            }
            for g in groups
        ],
    }
