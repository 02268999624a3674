"""The product's canonical URLs: one base, fixed in the product, for every code system, naming system,
extension and definition it publishes.

R4 canonical URLs identify a definition, not a copy of it: a CodeSystem's or OperationDefinition's
`url` "SHALL" be the same wherever the resource is stored (hl7.org/fhir/R4/resource.html#canonical,
references.html#canonical). They used to be built from the request's Host, so two servers of the same
product (or one behind two host names) named the same code system differently, and a coding recorded
on one did not match the other's. They are fixed here, never derived from API_BASE_URL or a request.
Links to *instances* (fullUrl, GuidanceResponse/{id}, card links) do use the server's configured base.

The base need not resolve: the product publishes no definitions at it. Never change it; a site that
forks the product with other code systems takes a base of its own.
"""

from __future__ import annotations

from typing import Final

__all__ = ["CANONICAL_BASE", "canonical"]

CANONICAL_BASE: Final = "https://drg-eligibility.example.org/fhir"


def canonical(kind: str, name: str) -> str:
    """`https://drg-eligibility.example.org/fhir/{kind}/{name}`, e.g. canonical("CodeSystem", "drg-outcome")."""
    return f"{CANONICAL_BASE}/{kind}/{name}"
