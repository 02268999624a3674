"""Raw submission (bytes or str) -> the list of entries to read: Bundle, NDJSON or a lone Patient.

Only the envelope is checked here (JSON syntax, Bundle shape and type, that each entry's resource is an
object, and json_guard's limits: depth and duplicate keys, and dates at the edge of the calendar outside
the resources); resources themselves, their dates included, are checked by the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from eligibility.errors import InvalidResourceError, NotFHIRError, NotJSONError, WrongResourceTypeError

from .json_guard import check_document, edge_date
from .locations import Locator
from .models import is_resource_type
from .versions import older_version_error

__all__ = ["ACCEPTED_BUNDLE_TYPES", "RawEntry", "Submission", "read_submission"]

# Bundle types that carry one record. history (many versions of one resource), message and
# subscription-notification do not describe a patient's current record and are refused.
ACCEPTED_BUNDLE_TYPES: frozenset[str] = frozenset(
    {"batch", "batch-response", "collection", "document", "searchset", "transaction", "transaction-response"}
)
_ALL_BUNDLE_TYPES = ACCEPTED_BUNDLE_TYPES | {"history", "message", "subscription-notification"}


@dataclass(frozen=True, slots=True)
class RawEntry:
    """One entry as sent: `entry` is the Bundle entry object (all its keys kept for the canonical form)."""

    entry: dict[str, Any]
    locator: Locator

    @property
    def resource(self) -> dict[str, Any] | None:
        resource = self.entry.get("resource")
        return resource if isinstance(resource, dict) else None

    @property
    def full_url(self) -> str | None:
        full_url = self.entry.get("fullUrl")
        return full_url if isinstance(full_url, str) else None


@dataclass(frozen=True, slots=True)
class Submission:
    bundle_type: str  # the Bundle's type; "collection" for NDJSON and a lone Patient
    entries: tuple[RawEntry, ...]
    location: str  # where "the whole input" is, for errors about it (e.g. no Patient at all)
    # json_guard found a year outside its calendar: the pipeline looks for it in each resource
    check_dates: bool = False


def article(word: str) -> str:
    """'an' before a vowel sound as written (an AllergyIntolerance, an Encounter), else 'a'."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def with_article(word: str) -> str:
    """'an Encounter', 'a Condition'."""
    return f"{article(word)} {word}"


def read_submission(raw: bytes | str) -> Submission:
    data = _to_bytes(raw)
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        lines = _ndjson_lines(data)
        if lines is None:
            raise NotJSONError(f"not valid JSON: {exc.msg}", location=f"line {exc.lineno}, column {exc.colno}") from exc
        return _from_ndjson(lines)
    root = document.get("resourceType") if isinstance(document, dict) else None
    check_dates = check_document(document, data, root=root if isinstance(root, str) and root.isalnum() else "$")
    if not isinstance(document, dict):
        raise NotFHIRError(f"JSON {type(document).__name__} is not a FHIR resource (expected an object)", location="$")
    resource_type = document.get("resourceType")
    if resource_type == "Bundle":
        return _from_bundle(document, check_dates)
    if resource_type == "Patient":
        entry = RawEntry({"resource": document}, Locator("Patient"))
        return Submission("collection", (entry,), "Patient", check_dates)
    if not isinstance(resource_type, str):
        raise NotFHIRError("JSON object without a resourceType is not FHIR", location="resourceType")
    # A known type alone (a bare Observation, Parameters, OperationOutcome) is not a patient record.
    if not is_resource_type(resource_type):
        unknown = NotFHIRError(f"unknown FHIR resourceType {resource_type!r}", location="resourceType")
        raise older_version_error(unknown, [(document, lambda path: path or resource_type)])
    raise WrongResourceTypeError(
        f"{article(resource_type)} {resource_type} is not a patient record; send a Bundle, NDJSON or a Patient",
        location="resourceType",
    )


def _to_bytes(raw: bytes | str) -> bytes:
    if isinstance(raw, str):
        try:
            data = raw.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise NotJSONError(f"text is not encodable as UTF-8: {exc.reason}", location="$") from exc
    else:
        data = bytes(raw)
    return data.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark is legal in files, not in JSON


def _ndjson_lines(data: bytes) -> list[tuple[int, bytes]] | None:
    """The non-blank lines, when the input looks like NDJSON (its first line alone is a JSON object)."""
    lines = [(number, line) for number, line in enumerate(data.splitlines(), start=1) if line.strip()]
    if len(lines) < 2:
        return None
    try:
        first = orjson.loads(lines[0][1])
    except orjson.JSONDecodeError:
        return None
    return lines if isinstance(first, dict) else None


def _from_ndjson(lines: list[tuple[int, bytes]]) -> Submission:
    entries: list[RawEntry] = []
    check_dates = False
    for number, line in lines:
        try:
            resource = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise NotJSONError(f"not valid JSON: {exc.msg}", location=f"line {number}, column {exc.colno}") from exc
        check_dates |= check_document(resource, line, root=f"line {number}: $")
        if not isinstance(resource, dict):
            raise NotFHIRError(
                f"NDJSON line holds a JSON {type(resource).__name__}, not a FHIR resource",
                location=f"line {number}",
            )
        entries.append(RawEntry({"resource": resource}, Locator(f"line {number}", ": ")))
    return Submission("collection", tuple(entries), "NDJSON", check_dates)


def _envelope_dates(bundle: dict[str, Any]) -> None:
    """Refuse an edge date in the Bundle itself or an entry's request/response (their resources are the
    pipeline's: a warning where the policy does not read)."""
    envelope = {key: value for key, value in bundle.items() if key != "entry"}
    entries = bundle.get("entry")
    parts: list[tuple[str, Any]] = [("Bundle", envelope)]
    if isinstance(entries, list):
        parts += [
            (f"Bundle.entry[{index}]", {key: value for key, value in entry.items() if key != "resource"})
            for index, entry in enumerate(entries)
            if isinstance(entry, dict)
        ]
    for where, part in parts:
        found = edge_date(part)
        if found is not None:
            path, message = found
            raise InvalidResourceError(message, location=f"{where}.{path}")


def _from_bundle(bundle: dict[str, Any], check_dates: bool) -> Submission:
    bundle_type = bundle.get("type")
    if not isinstance(bundle_type, str) or bundle_type not in _ALL_BUNDLE_TYPES:
        raise InvalidResourceError(f"Bundle.type {bundle_type!r} is not a FHIR Bundle type", location="Bundle.type")
    if bundle_type not in ACCEPTED_BUNDLE_TYPES:
        raise WrongResourceTypeError(
            f"{article(str(bundle_type))} {bundle_type} Bundle is not a patient record; send collection, searchset, "
            "transaction,"
            " batch or document",
            location="Bundle.type",
        )
    raw_entries = bundle.get("entry", [])
    if not isinstance(raw_entries, list):
        raise InvalidResourceError("Bundle.entry must be an array", location="Bundle.entry")
    entries: list[RawEntry] = []
    for index, entry in enumerate(raw_entries):
        where = f"Bundle.entry[{index}]"
        if not isinstance(entry, dict):
            raise InvalidResourceError("a Bundle entry must be an object", location=where)
        if "resource" in entry and not isinstance(entry["resource"], dict):
            raise NotFHIRError("Bundle entry resource is not a JSON object", location=f"{where}.resource")
        if "fullUrl" in entry and not isinstance(entry["fullUrl"], str):
            raise InvalidResourceError("Bundle entry fullUrl must be a string", location=f"{where}.fullUrl")
        entries.append(RawEntry(entry, Locator(f"{where}.resource")))
    if check_dates:
        _envelope_dates(bundle)
    return Submission(bundle_type, tuple(entries), "Bundle.entry", check_dates)
