"""Codings and CodeableConcepts (plain JSON dicts) -> `Coding` facts and short texts."""

from __future__ import annotations

from typing import Any

from eligibility.facts import Coding

__all__ = ["cc_text", "codings", "codings_of_all", "extension_codings", "first_code", "normalize_icd10"]


def normalize_icd10(code: str) -> str:
    """ICD-10-CM code for matching: trimmed, upper case, without the dot ("g90.52" -> "G90.52" -> "G9052")."""
    return code.strip().upper().replace(".", "")


def coding(value: dict[str, Any]) -> Coding:
    # Codings without a system or code are kept (with "") rather than dropped; they can never match.
    display = value.get("display")
    return Coding(
        system=str(value.get("system") or "").strip(),
        code=str(value.get("code") or "").strip(),
        display=display if isinstance(display, str) else None,
    )


def codings(concept: Any) -> tuple[Coding, ...]:
    """The codings of one CodeableConcept (or () when absent)."""
    if not isinstance(concept, dict):
        return ()
    return tuple(coding(c) for c in concept.get("coding", ()) if isinstance(c, dict))


def codings_of_all(concepts: Any) -> tuple[Coding, ...]:
    """The codings of a list of CodeableConcepts, in order."""
    if not isinstance(concepts, list):
        return ()
    return tuple(c for concept in concepts for c in codings(concept))


def extension_codings(element: Any) -> tuple[Coding, ...]:
    """Codings carried in the extensions of an element (e.g. a laterality qualifier on a bodySite)."""
    if not isinstance(element, dict):
        return ()
    found: list[Coding] = []
    for extension in element.get("extension", ()):
        if not isinstance(extension, dict):
            continue
        found.extend(codings(extension.get("valueCodeableConcept")))
        value_coding = extension.get("valueCoding")
        if isinstance(value_coding, dict):
            found.append(coding(value_coding))
        found.extend(extension_codings(extension))  # complex extensions nest their parts
    return tuple(found)


def first_code(concept: Any) -> str | None:
    """The first non-empty coding code of a CodeableConcept (status concepts carry one)."""
    for c in codings(concept):
        if c.code:
            return c.code
    return None


def cc_text(concept: Any) -> str | None:
    """Human text of a CodeableConcept: its text, else the first display, else the first code."""
    if not isinstance(concept, dict):
        return None
    text = concept.get("text")
    if isinstance(text, str) and text.strip():
        return text.strip()
    all_codings = codings(concept)
    for c in all_codings:
        if c.display and c.display.strip():
            return c.display.strip()
    for c in all_codings:
        if c.code:
            return c.code
    return None
