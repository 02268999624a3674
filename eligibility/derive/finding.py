"""A finding: what Python computed about one question, ready for the rules to judge.

`values` is the small, flat projection asserted into durable_rules (numbers, booleans, short
strings; no dates: date arithmetic happens here, never in the rules). `reasons` holds the
sentence for each status the rules may choose; if the rules choose a status for which no
reason exists, the engine raises rather than guess, which keeps rules and findings honest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eligibility.decision import DataRequest, Evidence

__all__ = ["Finding", "request"]

Scalar = bool | int | float | str


@dataclass
class Finding:
    """What one derivation found: flat `values` the rules match, and for people the reason per status,
    the evidence and the data requests that would settle an unknown."""

    kind: str
    values: dict[str, Scalar]
    criterion: str | None = None
    reasons: dict[str, str] = field(default_factory=dict)
    evidence: list[Evidence] = field(default_factory=list)
    data_requests: list[DataRequest] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)  # extra data for actions (hold days, …)


def request(description: str, resource_type: str, *codes: str) -> DataRequest:
    """A data request: what to record, as which FHIR resource type and with which codes."""
    return DataRequest(description=description, resource_type=resource_type, codes=list(codes))
