"""CDS Hooks 2.0 edge: discovery, prefetch -> one patient's Bundle, and the decision as cards.

Two services, because a CDS Hooks service answers exactly one hook:
- `drg-candidacy` on `patient-view`: candidacy when a referring physician opens the chart;
- `drg-candidacy-order` on `order-select`: the same decision when a neurostimulation procedure is being
  ordered (`selects_neurostimulation` tells whether the selected orders are one).

The server does the HTTP (fetching when prefetch is incomplete, JWT checks, feedback); this module
only shapes data. The cards themselves are built in `outbound.cards`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import cache
from typing import Any

import orjson

from eligibility.errors import InputError
from eligibility.policy import installed_policies

from .outbound.cards import card_uuid, decision_to_cards
from .outbound.outcome import warnings_outcome
from .unread import ReadProblem

__all__ = [
    "ORDER_SERVICE_ID",
    "SERVICE_ID",
    "WARNINGS_EXTENSION",
    "card_uuid",
    "decision_to_cards",
    "fetch_queries",
    "prefetch_resource_types",
    "prefetch_templates",
    "prefetch_to_bundle",
    "selects_neurostimulation",
    "service_definition",
    "with_warnings",
]

SERVICE_ID = "drg-candidacy"
ORDER_SERVICE_ID = "drg-candidacy-order"

# The response's `extension` member that carries problems found in resources the policy does not read.
WARNINGS_EXTENSION = "org.drg-eligibility.input-warnings"
_PATIENT_TOKEN = "{{context.patientId}}"
_TOKEN = re.compile(r"\{\{\s*context\.([A-Za-z]+)\s*\}\}")
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


def prefetch_templates() -> dict[str, str]:
    """Prefetch key -> FHIR query template for every resource type the rules read (spec §1).

    Medication resources come with `_include` because orders often point at a Medication instead of
    coding the drug; without it the adapters cannot tell the ingredient. Observations are limited to
    the codes the installed policies read (pain scores, smoking and pregnancy status, trial relief).
    """
    return dict(_templates())  # a copy: callers may edit theirs


def prefetch_resource_types() -> dict[str, str]:
    """Prefetch key -> the resource type its query returns ("conditions" -> "Condition"), Patient aside:
    what a client (or a test) must put under each key, read off the templates rather than listed again."""
    return {
        key: re.split(r"[/?]", template, maxsplit=1)[0] for key, template in _templates().items() if key != "patient"
    }


@cache
def _templates() -> dict[str, str]:
    observation_codes = ",".join(_observation_codes())
    return {
        "patient": f"Patient/{_PATIENT_TOKEN}",
        "conditions": f"Condition?patient={_PATIENT_TOKEN}",
        "observations": f"Observation?patient={_PATIENT_TOKEN}&code={observation_codes}",
        "procedures": f"Procedure?patient={_PATIENT_TOKEN}",
        "medicationRequests": f"MedicationRequest?patient={_PATIENT_TOKEN}&_include=MedicationRequest:medication",
        "medicationStatements": f"MedicationStatement?patient={_PATIENT_TOKEN}&_include=MedicationStatement:medication",
        "medicationAdministrations": f"MedicationAdministration?patient={_PATIENT_TOKEN}"
        "&_include=MedicationAdministration:medication",
        "encounters": f"Encounter?patient={_PATIENT_TOKEN}",
        "devices": f"Device?patient={_PATIENT_TOKEN}",
        "allergyIntolerances": f"AllergyIntolerance?patient={_PATIENT_TOKEN}",
    }


def _observation_codes() -> list[str]:
    tokens: set[str] = set()
    for policy in installed_policies():
        sets = policy.valuesets
        loinc = sets.get("systems", {}).get("loinc", ["http://loinc.org"])[0]
        for name, key in (
            ("pain_score", "loinc"),
            ("pain_score", "loinc_vas"),
            ("smoking_status", "loinc"),
            ("pregnancy_status", "loinc"),
        ):
            tokens.update(f"{loinc}|{code}" for code in sets.get(name, {}).get(key, []))
        tokens.update(f"{c['system']}|{c['code']}" for c in sets.get("percent_pain_relief", {}).get("codes", []))
    return sorted(tokens)


def service_definition() -> dict[str, Any]:
    """The discovery document (`GET /cds-services`): both services, with the same prefetch."""
    usage = (
        "Needs read access to the patient's Patient, Condition, Observation, Procedure, Medication*, "
        "Encounter, Device and AllergyIntolerance resources, by prefetch or through fhirServer."
    )
    return {
        "services": [
            {
                "hook": "patient-view",
                "id": SERVICE_ID,
                "title": "DRG stimulation candidacy",
                "description": "Assesses whether the patient is a candidate for dorsal root ganglion stimulation "
                "(trial or implant) and lists missing data, contraindications and preparation steps.",
                "prefetch": prefetch_templates(),
                "usageRequirements": usage,
            },
            {
                "hook": "order-select",
                "id": ORDER_SERVICE_ID,
                "title": "DRG stimulation candidacy at ordering",
                "description": "When a DRG/spinal neurostimulator trial or implant is selected, shows the patient's "
                "candidacy, contraindications and preparation steps.",
                "prefetch": prefetch_templates(),
                "usageRequirements": usage,
            },
        ]
    }


def fetch_queries(context: dict[str, Any]) -> dict[str, str]:
    """The prefetch queries with the context filled in, relative to the request's fhirServer.

    The patient id is checked against FHIR's id syntax first: it is pasted into query strings, and an
    id like "1&_include=*" must not change what is fetched.
    """
    patient_id = context.get("patientId") if isinstance(context, dict) else None
    if not isinstance(patient_id, str) or not _FHIR_ID.fullmatch(patient_id):
        raise InputError("context.patientId must be a FHIR id ([A-Za-z0-9-.]{1,64})", location="context.patientId")
    return {
        key: _TOKEN.sub(lambda m: _context_value(context, m.group(1)), template)
        for key, template in prefetch_templates().items()
    }


def _context_value(context: dict[str, Any], name: str) -> str:
    value = context.get(name)
    if not isinstance(value, str) or not _FHIR_ID.fullmatch(value):
        raise InputError(f"context.{name} must be a FHIR id", location=f"context.{name}")
    return value


def prefetch_to_bundle(request: dict[str, Any]) -> bytes | None:
    """A collection Bundle of the prefetched resources, or None when the server must fetch them itself.

    None when any template key is absent (the client chose not to, or failed to, prefetch it), when a
    value is not a resource or Bundle, or when a searchset has a `next` page. Every key is required:
    a missing Condition or Device result would read as "no contraindication", which is `met`.
    A `null` value means the client found nothing, and contributes no entry.

    Entries keep their fullUrl; a resource given alone gets `{fhirServer}/{type}/{id}`. Broken content
    (unresolvable references, non-FHIR objects) is passed on for the adapters to reject with a typed
    InputError. The same resource prefetched twice (a Medication included by two searches) is kept once.
    """
    prefetch = request.get("prefetch")
    if not isinstance(prefetch, dict):
        return None
    server = request.get("fhirServer")
    server = server.rstrip("/") if isinstance(server, str) and server else None
    entries: list[dict[str, Any]] = []
    seen: dict[str, dict[str, Any]] = {}
    for key in prefetch_templates():
        if key not in prefetch:
            return None
        value = prefetch[key]
        if value is None:
            continue
        if not isinstance(value, dict):
            return None
        found = _entries(value, server)
        if found is None:
            return None
        for entry in found:
            identity = _identity(entry)
            if identity is not None and identity in seen and seen[identity] == entry:
                continue
            if identity is not None:
                seen.setdefault(identity, entry)
            entries.append(entry)
    return orjson.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries})


def _entries(value: dict[str, Any], server: str | None) -> list[dict[str, Any]] | None:
    if value.get("resourceType") != "Bundle":
        entry: dict[str, Any] = {"resource": value}
        resource_id, resource_type = value.get("id"), value.get("resourceType")
        if server and isinstance(resource_id, str) and isinstance(resource_type, str):
            entry = {"fullUrl": f"{server}/{resource_type}/{resource_id}", **entry}
        return [entry]
    links = value.get("link")
    if isinstance(links, list) and any(isinstance(x, dict) and x.get("relation") == "next" for x in links):
        return None  # a page of a longer result: the rest is missing
    raw_entries = value.get("entry", [])
    if not isinstance(raw_entries, list):
        return [{"resource": value}]  # malformed: let the adapters say where
    return list(_copy_entries(raw_entries))


def _copy_entries(raw_entries: list[Any]) -> Iterator[dict[str, Any]]:
    for raw in raw_entries:
        if not isinstance(raw, dict):
            yield {"resource": raw}
            continue
        search = raw.get("search")
        if isinstance(search, dict) and search.get("mode") == "outcome":
            continue  # the server's OperationOutcome about the search, not patient data
        # Only fullUrl and resource: search/request/response are not allowed in a collection (bdl-2..4).
        yield {k: raw[k] for k in ("fullUrl", "resource") if k in raw}


def _identity(entry: dict[str, Any]) -> str | None:
    if isinstance(entry.get("fullUrl"), str):
        return str(entry["fullUrl"])
    resource = entry.get("resource")
    if isinstance(resource, dict) and isinstance(resource.get("id"), str):
        return f"{resource.get('resourceType')}/{resource['id']}"
    return None


def selects_neurostimulation(context: dict[str, Any]) -> bool:
    """order-select: whether a selected draft order is a neurostimulator trial or implant (policy codes)."""
    selections = context.get("selections")
    draft = context.get("draftOrders")
    if not isinstance(selections, list) or not isinstance(draft, dict):
        return False
    wanted = _neurostimulation_codes()
    for entry in draft.get("entry", []) if isinstance(draft.get("entry"), list) else []:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            continue
        if f"{resource.get('resourceType')}/{resource.get('id')}" not in selections:
            continue
        codings = (resource.get("code") or {}).get("coding", []) if isinstance(resource.get("code"), dict) else []
        if any(isinstance(c, dict) and (c.get("system"), c.get("code")) in wanted for c in codings):
            return True
    return False


@cache
def _neurostimulation_codes() -> frozenset[tuple[str, str]]:
    codes: set[tuple[str, str]] = set()
    for policy in installed_policies():
        cpt = policy.valuesets.get("systems", {}).get("cpt", ["http://www.ama-assn.org/go/cpt"])[0]
        for name in ("neurostimulator_trial", "neurostimulator_permanent"):
            codes.update((cpt, code) for code in policy.valuesets.get(name, {}).get("cpt", []))
    return frozenset(codes)


def with_warnings(response: dict[str, Any], problems: Sequence[ReadProblem]) -> dict[str, Any]:
    """The response with an OperationOutcome of warnings under `extension`, when there are any.

    Not a card: a data-quality note about vitals no rule reads would be noise on every chart opened,
    but the EHR's integrators should see it.
    """
    if not problems:
        return response
    return {**response, "extension": {WARNINGS_EXTENSION: warnings_outcome(problems)}}
