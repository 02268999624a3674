"""Where a resource sits in the submission, so that every error names a FHIRPath-like location."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Locator"]


@dataclass(frozen=True, slots=True)
class Locator:
    """`base` locates the resource itself; `at(path)` a field inside it.

    Bundle entries: base "Bundle.entry[3].resource", separator "." -> "Bundle.entry[3].resource.subject".
    NDJSON lines:   base "line 4", separator ": "                  -> "line 4: subject.reference".
    """

    base: str
    separator: str = "."

    def at(self, path: str = "") -> str:
        return f"{self.base}{self.separator}{path}" if path else self.base

    def child(self, path: str) -> Locator:
        """A locator for an element inside this resource, e.g. a contained resource."""
        return Locator(self.at(path), ".")
