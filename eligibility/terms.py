"""The terminology worklist: what the policy did not recognise in a set of records, by frequency.

`drg-eligibility terms PATH...` reads FHIR Bundles, one-patient NDJSON files, directories of them and
Bulk Data exports (`Type.ndjson[.gz]`), and lists what a clinic's analyst maps next:

- `medication` — a medication record (any status) that identifies to nothing (spec §7);
- `unmapped-system` — an ICD-10-CM- or CPT-shaped code of a Condition or Procedure under a missing or
  non-standard system (§7: listed, not guessed);
- `local-code` — any other code of a read Condition or Procedure in a system the policy does not know.

Each row: kind, system, code, display, how often, and one example reference. Records are read with the
same adapter as every decision (`fhir_adapters.parse_input` / `parse_resources`), so what is listed is
exactly what the engine would not read. A file that cannot be read is reported and skipped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from eligibility.batch.export_reader import ExportFile, LineReader, OverlongLine, find_export_files
from eligibility.derive.context import Context
from eligibility.errors import InputError, WrongResourceTypeError
from eligibility.facts import Coding, PatientFacts
from eligibility.policy import Policy
from fhir_adapters import parse_input, parse_resources

__all__ = ["Term", "TermCount", "TermsReport", "collect_terms"]

_MEDICATION_TYPES = ("MedicationRequest", "MedicationStatement", "MedicationAdministration")
_CODED_TYPES = ("Condition", "Procedure")


@dataclass(frozen=True, slots=True)
class Term:
    kind: str  # medication | unmapped-system | local-code
    system: str
    code: str
    display: str


@dataclass(slots=True)
class TermCount:
    term: Term
    count: int
    example: str  # a reference where it occurs
    seems: str = ""  # for a medication: the ingredient its name seems to give, read as RxNorm names are


@dataclass
class TermsReport:
    records: int = 0
    resources: int = 0
    rows: list[TermCount] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # "file: why it was skipped"


def collect_terms(paths: Iterable[Path], policy: Policy, *, as_of: date) -> TermsReport:
    counts: Counter[Term] = Counter()
    examples: dict[Term, str] = {}
    seems: dict[Term, str] = {}
    report = TermsReport()
    for record in _records(paths, report):
        report.records += 1
        for term, reference, guess in _unread(record, policy, as_of):
            counts[term] += 1
            examples.setdefault(term, reference)
            if guess:
                seems.setdefault(term, guess)
    report.rows = [
        TermCount(term, count, examples[term], seems.get(term, ""))
        for term, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0].kind, kv[0].system, kv[0].code))
    ]
    return report


def _unread(record: PatientFacts, policy: Policy, as_of: date) -> Iterator[tuple[Term, str, str]]:
    ctx = Context(record, policy, as_of)
    identifier = policy.identifier
    for med in record.medications:
        if ctx.identify(med).recognised:
            continue
        coding = next((c for c in med.codes if policy.matcher.kind_of(c.system) == "rxnorm"), None)
        coding = coding or next((c for c in med.codes if c.code), Coding("", ""))
        text = ctx.medication_text(med) or ""
        guess = ", ".join(_components(policy, text)) if text else ""
        yield Term("medication", coding.system, coding.code, coding.display or text), med.reference, guess
    coded = [(c.reference, c.codes) for c in record.conditions] + [(p.reference, p.codes) for p in record.procedures]
    for reference, codes in coded:
        for coding in codes:
            if not coding.code or policy.matcher.kind_of(coding.system) is not None:
                continue
            kind = "unmapped-system" if identifier.unmapped_kind(coding) else "local-code"
            yield Term(kind, coding.system, coding.code, coding.display or ""), reference, ""


def _components(policy: Policy, text: str) -> list[str]:
    from eligibility.medications import component_names

    return component_names(text, policy.identifier.salt_words) if policy.identifier.v11 else []


def _records(paths: Iterable[Path], report: TermsReport) -> Iterator[PatientFacts]:
    for path in paths:
        if (path.is_dir() and any(path.glob("*.ndjson"))) or (path.is_dir() and any(path.glob("*.ndjson.gz"))):
            yield from _export(path, report)
        elif path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.suffix in (".json", ".ndjson") and p.is_file()):
                yield from _file(child, report)
        elif path.is_file():
            yield from _file(path, report)
        else:
            report.problems.append(f"{path}: no such file or directory")


def _file(path: Path, report: TermsReport) -> Iterator[PatientFacts]:
    try:
        raw = path.read_bytes()
        parsed = parse_input(raw)
    except OSError as exc:
        report.problems.append(f"{path}: {exc.strerror or exc}")
        return
    except WrongResourceTypeError:
        # A lone MedicationRequest, Condition... (as IGs publish examples): read on its own.
        lone = orjson.loads(raw)
        if lone.get("resourceType") not in (*_MEDICATION_TYPES, *_CODED_TYPES):
            report.problems.append(
                f"{path}: a lone {lone.get('resourceType')} holds nothing this lists (medications, conditions, "
                "procedures)"
            )
            return
        yield from _alone(lone, {}, report, str(path))
        return
    except InputError as exc:
        report.problems.append(f"{path}: {exc.one_line()}")
        return
    report.resources += parsed.resource_count
    yield parsed.facts


def _alone(
    resource: dict[str, Any], medications: dict[str, dict[str, Any]], report: TermsReport, where: str
) -> Iterator[PatientFacts]:
    """One resource read with the Medication it references and a stand-in Patient for its subject."""
    report.resources += 1
    subject = str((resource.get("subject") or {}).get("reference") or "")
    patient_id = subject.removeprefix("Patient/") if subject.startswith("Patient/") else "x"
    group = [{"resourceType": "Patient", "id": patient_id}, resource]
    target = medications.get(str((resource.get("medicationReference") or {}).get("reference")))
    if target is not None:
        group.append(target)
    try:
        yield parse_resources(group).facts
    except InputError as exc:
        report.problems.append(f"{where} {resource.get('resourceType')}/{resource.get('id')}: {exc.one_line()}")


def _export(directory: Path, report: TermsReport) -> Iterator[PatientFacts]:
    """A Bulk Data export: each medication, condition and procedure read on its own, with the Medication
    it references (Medication files are indexed first) and a stand-in Patient for its subject."""
    files = find_export_files(directory)
    medications: dict[str, dict[str, Any]] = {}
    for file in files:
        if file.name.startswith("Medication.") or file.name.startswith("Medication_"):
            for resource in _lines(file, report):
                if resource.get("resourceType") == "Medication" and isinstance(resource.get("id"), str):
                    medications[f"Medication/{resource['id']}"] = resource
    wanted = (*_MEDICATION_TYPES, *_CODED_TYPES)
    for file in files:
        if not file.name.startswith(wanted):
            continue
        for resource in _lines(file, report):
            if resource.get("resourceType") in wanted:
                yield from _alone(resource, medications, report, file.name)


def _lines(file: ExportFile, report: TermsReport) -> Iterator[dict[str, Any]]:
    try:
        with LineReader(file) as reader:
            for number, line in reader:
                if isinstance(line, OverlongLine):
                    report.problems.append(f"{file.name} line {number}: {line.length:,} bytes, over the line limit")
                    continue
                try:
                    value = orjson.loads(line)
                except orjson.JSONDecodeError:
                    report.problems.append(f"{file.name} line {number}: not JSON")
                    continue
                if isinstance(value, dict):
                    yield value
    except InputError as exc:
        report.problems.append(exc.one_line())
