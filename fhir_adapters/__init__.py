"""FHIR R4 edge of the product: a submission in, one patient's typed facts out.

    from fhir_adapters import parse_input
    parsed = parse_input(bundle_bytes)      # Bundle, NDJSON or a lone Patient
    parsed.facts                           # eligibility.facts.PatientFacts
    parsed.input_sha256                     # identifies the canonical input (order-independent)
    parse_input(raw, reads=read_set)        # validate only what a ReadFilter keeps; the rest: unread.py

Bad input raises the typed errors of `eligibility.errors`, each with a FHIRPath-like `location`.
"""

from __future__ import annotations

from .codes import normalize_icd10
from .reading import ParsedInput, ReadFilter, ReadProblem, parse_input, parse_resources

__all__ = ["ParsedInput", "ReadFilter", "ReadProblem", "normalize_icd10", "parse_input", "parse_resources"]
