"""Value-set matching on system + code (never display text), compiled once per policy.

ICD-10-CM codes compare without the dot and case-insensitively, so "G90.521" and "G90521" are the
same code. A value-set entry ending in "*" is a prefix (a whole ICD-10 category).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["CodeMatcher", "CodingLike", "ValueSet", "normalize_icd10"]


class CodingLike(Protocol):
    @property
    def system(self) -> str: ...
    @property
    def code(self) -> str: ...


def normalize_icd10(code: str) -> str:
    return code.replace(".", "").replace(" ", "").upper()


@dataclass(frozen=True)
class _PrefixTable:
    exact: frozenset[str]
    prefixes: tuple[str, ...]

    @classmethod
    def build(cls, entries: Iterable[str]) -> _PrefixTable:
        exact: set[str] = set()
        prefixes: list[str] = []
        for entry in entries:
            if entry.endswith("*"):
                prefixes.append(normalize_icd10(entry[:-1]))
            else:
                exact.add(normalize_icd10(entry))
        # Longest prefix first so lookups that map prefixes to values take the most specific one.
        return cls(frozenset(exact), tuple(sorted(prefixes, key=len, reverse=True)))

    def matches(self, code: str) -> bool:
        norm = normalize_icd10(code)
        return norm in self.exact or any(norm.startswith(p) for p in self.prefixes)


class ValueSet:
    """One named value set: ICD-10-CM (with prefixes), SNOMED, CPT, LOINC and RxNorm codes."""

    def __init__(self, name: str, data: Mapping[str, Any], systems: Mapping[str, frozenset[str]]) -> None:
        self.name = name
        self._systems = systems
        self._icd10 = _PrefixTable.build(data.get("icd10", ()))
        self._by_kind: dict[str, frozenset[str]] = {
            kind: frozenset(data.get(kind, ())) for kind in ("snomed", "cpt", "loinc", "rxnorm")
        }
        device = data.get("device_snomed")
        self._device = frozenset(device or ())

    def _kind(self, system: str) -> str | None:
        for kind, urls in self._systems.items():
            if system in urls:
                return kind
        return None

    def match(self, codings: Iterable[CodingLike], *, device: bool = False) -> CodingLike | None:
        """The first coding in the set, or None."""
        for coding in codings:
            kind = self._kind(coding.system)
            if kind is None:
                continue
            if device:
                if kind == "snomed" and coding.code in self._device:
                    return coding
                continue
            if kind == "icd10":
                if self._icd10.matches(coding.code):
                    return coding
            elif coding.code in self._by_kind.get(kind, frozenset()):
                return coding
        return None

    def __contains__(self, codings: object) -> bool:
        return isinstance(codings, tuple) and self.match(codings) is not None


class CodeMatcher:
    """All value sets of a policy, plus the lookups that map codes to regions and ingredients."""

    def __init__(self, valuesets: Mapping[str, Any]) -> None:
        systems: dict[str, frozenset[str]] = {
            str(kind): frozenset(urls) for kind, urls in valuesets["systems"].items()
        }
        self.systems = systems
        self.sets: dict[str, ValueSet] = {
            name: ValueSet(name, data, systems)
            for name, data in valuesets.items()
            if isinstance(data, dict) and name not in {"systems", "regions"}
        }
        regions = valuesets["regions"]
        self.targeted_regions = frozenset(regions["targeted"])
        self.outside_regions = frozenset(regions["outside"])
        self.on_label_sites = frozenset(regions["on_label_sites"])
        self._body_sites: dict[str, str] = dict(regions["body_sites_snomed"])
        self._snomed_findings: dict[str, str] = dict(regions.get("snomed_findings", {}))
        # (prefix?, normalised code, region), most specific first.
        icd: list[tuple[bool, str, str]] = [
            (k.endswith("*"), normalize_icd10(k.rstrip("*")), str(v)) for k, v in regions["icd10"].items()
        ]
        self._icd_regions = sorted(icd, key=lambda t: (t[0], -len(t[1])))
        self._ingredients: dict[str, str] = dict(valuesets["rxnorm_ingredients"]["rxnorm"])
        # v1 product table: one ingredient per product (v1.1 maps to lists; see eligibility.medications).
        self._products: dict[str, str] = {
            code: name if isinstance(name, str) else name[0]
            for code, name in valuesets["rxnorm_products"]["rxnorm"].items()
        }
        self._classes_by_rxcui: dict[str, str] = dict(valuesets["analgesic_classes"]["rxnorm"])
        self.analgesic_class_by_ingredient: dict[str, str] = {
            self._ingredients[rxcui]: cls for rxcui, cls in self._classes_by_rxcui.items()
        }
        self._supplements: dict[str, str] = dict(valuesets["supplement_names"]["names"])
        self.rxcui_by_ingredient: dict[str, str] = {}
        for rxcui, name in self._ingredients.items():
            self.rxcui_by_ingredient.setdefault(name, rxcui)

    def __getitem__(self, name: str) -> ValueSet:
        return self.sets[name]

    def kind_of(self, system: str) -> str | None:
        for kind, urls in self.systems.items():
            if system in urls:
                return kind
        return None

    def region_of_site(self, codings: Iterable[CodingLike]) -> str | None:
        for coding in codings:
            if self.kind_of(coding.system) == "snomed" and coding.code in self._body_sites:
                return self._body_sites[coding.code]
        return None

    def region_of_code(self, codings: Iterable[CodingLike]) -> str | None:
        """The region a diagnosis code itself implies (e.g. G57.7x causalgia of lower limb)."""
        for coding in codings:
            kind = self.kind_of(coding.system)
            if kind == "icd10":
                norm = normalize_icd10(coding.code)
                for is_prefix, key, region in self._icd_regions:
                    if norm == key or (is_prefix and norm.startswith(key)):
                        return region
            elif kind == "snomed" and coding.code in self._snomed_findings:
                return self._snomed_findings[coding.code]
        return None

    def ingredients(self, codings: Iterable[CodingLike], text: str | None) -> list[tuple[str, str | None]]:
        """(ingredient name, RxCUI it came from) for every ingredient the medication names.

        RxNorm ingredient or product codes first; supplements also by name, because RxNorm
        covers them inconsistently (reference §6.5).
        """
        found: dict[str, str | None] = {}
        for coding in codings:
            if self.kind_of(coding.system) != "rxnorm":
                continue
            name = self._ingredients.get(coding.code) or self._products.get(coding.code)
            if name is not None:
                found.setdefault(name, coding.code)
        if text:
            lowered = text.lower()
            for needle, name in self._supplements.items():
                if needle in lowered:
                    found.setdefault(name, None)
        return sorted(found.items())
