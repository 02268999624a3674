"""Medication identity (policy spec §7): which ingredients a medication record names, and how.

Real records seldom carry the RxNorm ingredient code. They carry a clinical drug (SCD), a branded
drug (SBD), a pack, a local code with text, or text alone; a medication nobody identifies is a
missed hold. Identity is the first rule that answers:

1. an RxNorm coding whose code is in the ingredient table (`matched_by` "ingredient_code");
2. an RxNorm coding whose code is in the product table, every ingredient of a combination
   (`"product_code"`);
3. names, source by source (RxNorm displays, the concept's text, other displays, the reference's
   display): every ingredient, alias or brand of the policy named there as whole words (`"name"`);
4. otherwise the medication is unrecognised.

Names are policy data (`valuesets.json` → `medication_identity`). A policy without that section
(drg-clinic 1.0.0 and 2.0.0) keeps the v1 reading — codes only, supplements by substring — so that
its decisions replay identically.

Besides identity, a hold-table drug named by *any* source but not identified (a code that says
pravastatin, a text that says clopidogrel) is reported as `named_elsewhere`: the hold rules still
recommend its hold, marked as a conflict for the prescriber to settle. That is the safe side of a
record that contradicts itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eligibility.codes import CodeMatcher
from eligibility.decision import MatchedBy
from eligibility.facts import Coding, MedicationFact

__all__ = ["Identification", "MedicationIdentifier", "component_names"]

_SEEN_MAX = 100_000  # distinct medication strings remembered per policy (a few hundred bytes each)
INGREDIENT_CODE: MatchedBy = "ingredient_code"
PRODUCT_CODE: MatchedBy = "product_code"
NAME: MatchedBy = "name"


@dataclass(frozen=True, slots=True)
class Identification:
    """What a medication record was identified as. Empty `ingredients` means unrecognised."""

    ingredients: tuple[tuple[str, str | None], ...]  # (ingredient, the RxCUI it came from, if any)
    matched_by: MatchedBy | None  # None under a v1 policy
    topical: bool = False
    named_elsewhere: tuple[str, ...] = ()  # hold-table drugs another name source names

    @property
    def recognised(self) -> bool:
        return bool(self.ingredients)


_NOT_WORD = re.compile(r"[^a-z0-9]+")


def _words(text: str) -> tuple[str, ...]:
    """Lower-case words: letters and digits, everything else a boundary ("omega-3" is "omega", "3")."""
    return tuple(w for w in _NOT_WORD.split(text.lower()) if w)


class _Phrases:
    """Whole-word, case-insensitive lookup of many names in a text: each run of 1..n words of the text
    looked up in a dict (a regex alternation of hundreds of names costs ~0.1 ms a text; this, microseconds)."""

    def __init__(self, names: Mapping[str, tuple[str, ...]]) -> None:
        self._by_words = {_words(name): value for name, value in names.items() if _words(name)}
        self._longest = max((len(words) for words in self._by_words), default=0)

    def find(self, text: str) -> list[tuple[str, ...]]:
        words = _words(text)
        found = []
        for start in range(len(words)):
            for size in range(1, min(self._longest, len(words) - start) + 1):
                value = self._by_words.get(words[start : start + size])
                if value is not None:
                    found.append(value)
        return found

    def any_in(self, text: str) -> bool:
        return bool(self.find(text))


_STRENGTH = re.compile(r"\s\d|\s\.\d")
_BRACKET = re.compile(r"\[([^\]]+)\]")


def component_names(text: str, salt_words: frozenset[str]) -> list[str]:
    """The ingredient phrase of each `/` component of an RxNorm-shaped name, salt words dropped.

    "Hydrocodone Bitartrate 5 MG / Acetaminophen 325 MG Oral Tablet [Norco]" gives
    ["hydrocodone", "acetaminophen"]. Used to say what an unrecognised medication seems to be.
    """
    body = _BRACKET.sub(" ", text.lower())
    body = re.sub(r"^\s*\d+\s+hr\s+", "", body)  # "24 HR metformin …" extended-release prefix
    found: list[str] = []
    for component in body.split(" / "):
        cut = _STRENGTH.search(" " + component.strip())
        phrase = (" " + component.strip())[: cut.start()] if cut else " " + component.strip()
        words = [w for w in re.split(r"[\s,]+", phrase) if w and w not in salt_words]
        if words:
            found.append(" ".join(words))
    return found


class MedicationIdentifier:
    """The §7 identification of one policy, compiled once when the policy loads."""

    def __init__(self, valuesets: Mapping[str, Any], matcher: CodeMatcher) -> None:
        self._matcher = matcher
        self._ingredients: dict[str, str] = dict(valuesets["rxnorm_ingredients"]["rxnorm"])
        identity = valuesets.get("medication_identity")
        self.v11 = identity is not None
        self._seen: dict[tuple[object, ...], Identification] = {}
        if identity is None:
            self._products: dict[str, tuple[str, ...]] = {
                code: (name,) if isinstance(name, str) else tuple(name)
                for code, name in valuesets["rxnorm_products"]["rxnorm"].items()
            }
            return
        known = identity["known_without_role"]
        self._ingredients.update(known["rxnorm"])
        self._products = {code: tuple(names) for code, names in valuesets["rxnorm_products"]["rxnorm"].items()}
        names: dict[str, tuple[str, ...]] = {n: (n,) for n in self._ingredients.values()}
        names.update({n: (n,) for n in known["names"]})
        names.update({alias: (ingredient,) for alias, ingredient in identity["ingredient_names"].items()})
        names.update({brand: tuple(ingredients) for brand, ingredients in identity["brands"].items()})
        self._names = _Phrases(names)
        self.salt_words = frozenset(w.lower() for w in identity["salt_words"])
        topical = identity["topical"]
        self._topical_words = _Phrases({w: (w,) for w in topical["words"]})
        self._systemic_words = _Phrases({w: (w,) for w in topical["systemic_words"]})
        self._topical_routes = frozenset(topical["route_snomed"])
        self._systemic_routes = frozenset(topical["systemic_route_snomed"])
        self.code_shapes: dict[str, re.Pattern[str]] = {
            kind: re.compile(shape) for kind, shape in identity["unmapped_code_shapes"].items()
        }

    def rxcui_of(self, ingredient: str) -> str | None:
        return self._matcher.rxcui_by_ingredient.get(ingredient)

    def identify(self, med: MedicationFact, hold_drugs: frozenset[str] = frozenset()) -> Identification:
        """§7 identity of one medication record; `hold_drugs` are the hold table's ingredients."""
        if not self.v11:
            return Identification(tuple(self._matcher.ingredients(med.codes, med.text)), None)
        # The same drug strings recur across records (a batch, a clinic's formulary): remembered by what
        # identity reads, never by the record's reference or dates.
        key = (med.codes, med.concept_text, med.reference_display, med.form_codes, med.form_texts, hold_drugs)
        found = self._seen.get(key)
        if found is None:
            if len(self._seen) >= _SEEN_MAX:
                self._seen.clear()
            found = self._seen[key] = self._identify(med, hold_drugs)
        return found

    def _identify(self, med: MedicationFact, hold_drugs: frozenset[str]) -> Identification:
        rxnorm = [c for c in med.codes if self._matcher.kind_of(c.system) == "rxnorm"]
        found: dict[str, str | None] = {}
        matched_by: MatchedBy | None = None
        for coding in rxnorm:
            if coding.code in self._ingredients:
                found.setdefault(self._ingredients[coding.code], coding.code)
        if found:
            matched_by = INGREDIENT_CODE
        else:
            for coding in rxnorm:
                for ingredient in self._products.get(coding.code, ()):
                    found.setdefault(ingredient, coding.code)
            matched_by = PRODUCT_CODE if found else None
        sources = self.name_sources(med)
        named_per_source = [self.names_in(text) for text in sources]
        if not found:
            for named in named_per_source:
                if named:
                    found = {ingredient: self.rxcui_of(ingredient) for ingredient in named}
                    matched_by = NAME
                    break
        elsewhere = sorted({i for named in named_per_source for i in named if i in hold_drugs} - set(found))
        return Identification(
            tuple(sorted(found.items())),
            matched_by,
            topical=self._is_topical(med, sources),
            named_elsewhere=tuple(elsewhere),
        )

    def name_sources(self, med: MedicationFact) -> list[str]:
        """The §7 name sources, in order: RxNorm displays, the concept's text, other displays, the
        reference's display."""
        is_rxnorm = [self._matcher.kind_of(c.system) == "rxnorm" for c in med.codes]
        rxnorm = [c.display for c, rx in zip(med.codes, is_rxnorm, strict=True) if c.display and rx]
        other = [c.display for c, rx in zip(med.codes, is_rxnorm, strict=True) if c.display and not rx]
        ordered = [*rxnorm, med.concept_text, *other, med.reference_display]
        seen: list[str] = []
        for text in ordered:
            if text and text.strip() and text.strip() not in seen:
                seen.append(text.strip())
        return seen

    def names_in(self, text: str) -> list[str]:
        """Every ingredient the text names (ingredients, aliases, brands), sorted."""
        return sorted({ingredient for value in self._names.find(text) for ingredient in value})

    def _is_topical(self, med: MedicationFact, sources: list[str]) -> bool:
        """Topical only on positive evidence and no systemic word or route: a doubtful form keeps its hold."""
        texts = [*sources, *med.form_texts]
        routes = {c.code for c in med.form_codes if self._matcher.kind_of(c.system) == "snomed"}
        topical = bool(routes & self._topical_routes) or any(self._topical_words.any_in(t) for t in texts)
        systemic = bool(routes & self._systemic_routes) or any(self._systemic_words.any_in(t) for t in texts)
        return topical and not systemic

    def unmapped_kind(self, coding: Coding) -> str | None:
        """'icd10' / 'cpt' for a code of that shape under a system the policy does not know."""
        if not self.v11 or self._matcher.kind_of(coding.system) is not None:
            return None
        for kind, shape in self.code_shapes.items():
            if shape.match(coding.code.strip().upper()):
                return kind
        return None

