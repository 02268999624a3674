"""Extend a policy's product table from a site's RxNorm release (spec §7, "Sites can load their own
terminology").

NLM publishes RxNorm monthly (the full release `RxNorm_full_MMDDYYYY.zip`, UMLS licence, from
https://www.nlm.nih.gov/research/umls/rxnorm/docs/rxnormfiles.html); its `rrf/` folder holds, among
others, two pipe-delimited files read here, streamed line by line (the real ones are hundreds of MB):

- `RXNCONSO.RRF` — concepts: RXCUI|LAT|TS|LUI|STT|SUI|ISPREF|RXAUI|SAUI|SCUI|SDUI|SAB|TTY|CODE|STR|SRL|SUPPRESS|CVF|
- `RXNREL.RRF` — relationships: RXCUI1|RXAUI1|STYPE1|REL|RXCUI2|RXAUI2|STYPE2|RELA|RUI|SRUI|SAB|SL|DIR|RG|SUPPRESS|CVF|

Only SAB=RXNORM rows count. Every product (SCD, SBD, GPCK, BPCK) is followed down to its ingredients:
SBD → SCD (tradename_of), GPCK/BPCK → SCD/SBD (contains), BPCK → GPCK (tradename_of),
SCD/SBD → SCDC/SBDC (consists_of), SCDC → IN/PIN (has_ingredient, has_precise_ingredient), PIN → IN
(form_of). Each edge is oriented by the term types of its two ends, not by the column it sits in, so a
release that lists a relationship in one direction or in both gives the same table. A product enters
the table when one of its ingredients is an ingredient of the policy (by RXCUI or by name); it maps to
all its ingredients, so a combination keeps every rule that applies.

The result is a NEW policy version (its own directory, manifest and hash): a released version is never
edited.
"""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from eligibility.errors import PolicyError
from eligibility.policy import Policy, seal_policy

__all__ = ["ImportReport", "import_rxnorm"]

PRODUCT_TTYS = frozenset({"SCD", "SBD", "GPCK", "BPCK"})
INGREDIENT_TTYS = frozenset({"IN", "PIN"})
_READ_TTYS = PRODUCT_TTYS | INGREDIENT_TTYS | {"SCDC", "SBDC"}
# (from, to) term types an edge may join, the product side first, with the relationship names of
# either direction that join them.
_STEPS: dict[tuple[str, str], frozenset[str]] = {
    ("SBD", "SCD"): frozenset({"tradename_of", "has_tradename"}),
    ("BPCK", "GPCK"): frozenset({"tradename_of", "has_tradename"}),
    ("GPCK", "SCD"): frozenset({"contains", "contained_in"}),
    ("BPCK", "SBD"): frozenset({"contains", "contained_in"}),
    ("BPCK", "SCD"): frozenset({"contains", "contained_in"}),
    ("SCD", "SCDC"): frozenset({"consists_of", "constitutes"}),
    ("SBD", "SBDC"): frozenset({"consists_of", "constitutes"}),
    ("SBDC", "SCDC"): frozenset({"tradename_of", "has_tradename"}),
    ("SCDC", "IN"): frozenset({"has_ingredient", "ingredient_of"}),
    ("SCDC", "PIN"): frozenset({"has_precise_ingredient", "precise_ingredient_of"}),
    ("PIN", "IN"): frozenset({"form_of", "has_form"}),
}
_RELAS = frozenset(r for relas in _STEPS.values() for r in relas)


@dataclass
class ImportReport:
    policy_dir: Path
    concepts_read: int = 0
    relationships_read: int = 0
    products_mapped: int = 0
    products_before: int = 0
    by_tty: dict[str, int] = field(default_factory=dict)
    kept_from_source: int = 0  # hand-made entries of the source that the release does not map


def _rows(path: Path, columns: int) -> Iterator[list[str]]:
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        for number, line in enumerate(handle, start=1):
            parts = line.rstrip("\r\n").split("|")
            if len(parts) < columns:
                raise PolicyError(
                    f"{path.name} line {number}: {len(parts)} fields, expected {columns} (pipe-delimited RRF)"
                )
            yield parts


def _find(directory: Path, name: str) -> Path:
    for candidate in (directory / name, directory / "rrf" / name):
        if candidate.is_file():
            return candidate
    raise PolicyError(f"{directory}: no {name} (give the release's folder or its rrf/ folder)")


def import_rxnorm(rrf_dir: Path, source: Policy, version: str, *, out_root: Path) -> ImportReport:
    """Write policy `source.id`@`version` under `out_root/<id>/<version>/` with the release's products."""
    identity = source.valuesets.get("medication_identity")
    if identity is None:
        raise PolicyError(
            f"{source.key} reads no product combinations (no medication_identity, spec §7); use v1.1 or later"
        )
    target = out_root / source.id / version
    if target.exists():
        raise PolicyError(f"{target} exists: a released policy version is never rewritten; choose a new --version")
    conso, rel = _find(rrf_dir, "RXNCONSO.RRF"), _find(rrf_dir, "RXNREL.RRF")

    by_code = {**source.valuesets["rxnorm_ingredients"]["rxnorm"], **identity["known_without_role"]["rxnorm"]}
    policy_names = set(by_code.values()) | set(identity["known_without_role"]["names"])
    aliases = {alias.lower(): ingredient for alias, ingredient in identity["ingredient_names"].items()}

    report = ImportReport(policy_dir=target)
    tty: dict[str, str] = {}
    ingredient_name: dict[str, str] = {}  # IN/PIN RXCUI -> its name (lower case)
    for row in _rows(conso, 15):
        report.concepts_read += 1
        rxcui, sab, term_type, name = row[0], row[11], row[12], row[14]
        if sab != "RXNORM" or term_type not in _READ_TTYS:
            continue
        tty[rxcui] = term_type
        if term_type in INGREDIENT_TTYS:
            ingredient_name[rxcui] = name.strip().lower()

    children: dict[str, set[str]] = defaultdict(set)
    for row in _rows(rel, 11):
        report.relationships_read += 1
        a, rela, b, sab = row[0], row[7], row[4], row[10]
        if sab != "RXNORM" or rela not in _RELAS or a not in tty or b not in tty:
            continue
        if rela in _STEPS.get((tty[a], tty[b]), ()):
            children[a].add(b)
        elif rela in _STEPS.get((tty[b], tty[a]), ()):
            children[b].add(a)

    def policy_ingredient(rxcui: str) -> str | None:
        name = ingredient_name.get(rxcui, "")
        return by_code.get(rxcui) or (name if name in policy_names else aliases.get(name))

    def ingredients_of(rxcui: str) -> set[str]:
        found: set[str] = set()
        stack, seen = [rxcui], {rxcui}
        while stack:
            node = stack.pop()
            if tty[node] == "IN" or (tty[node] == "PIN" and not children[node]):  # a PIN without its IN counts
                found.add(node)
            for child in children[node] - seen:
                seen.add(child)
                stack.append(child)
        return {i for i in found if tty[i] in INGREDIENT_TTYS}

    products: dict[str, list[str]] = {}
    counts: dict[str, int] = defaultdict(int)
    for rxcui, term_type in tty.items():
        if term_type not in PRODUCT_TTYS:
            continue
        contained = ingredients_of(rxcui)
        known = {policy_ingredient(i) for i in contained} - {None}
        if not known:
            continue
        # Every ingredient: the policy's name where it has one, else the release's (identified, no role).
        products[rxcui] = sorted({policy_ingredient(i) or ingredient_name[i] for i in contained})
        counts[term_type] += 1

    _write(source, target, version, rrf_dir, products, report)
    report.by_tty = dict(sorted(counts.items()))
    return report


def _write(
    source: Policy, target: Path, version: str, rrf_dir: Path, products: dict[str, list[str]], report: ImportReport
) -> None:
    shutil.copytree(source.path, target)
    valuesets_path = target / "valuesets.json"
    valuesets = json.loads(valuesets_path.read_text(encoding="utf-8"))
    table = valuesets["rxnorm_products"]
    before: dict[str, list[str]] = table["rxnorm"]
    report.products_before = len(before)
    report.kept_from_source = sum(1 for code in before if code not in products)
    merged = {**before, **products}
    table["rxnorm"] = dict(sorted(merged.items(), key=lambda kv: (len(kv[0]), kv[0])))
    table["_about"] = (
        f"{table.get('_about', '')} Extended from the RxNorm release in {rrf_dir.resolve().name} by "
        f"`drg-eligibility policy import-rxnorm` ({len(products)} products mapped from the release; "
        f"{report.kept_from_source} entries of {source.key} kept as they were)."
    ).strip()
    report.products_mapped = len(products)
    valuesets_path.write_text(json.dumps(valuesets, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    manifest_path = target / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["version"] = version
    manifest["title"] = f"{source.title} + site RxNorm products ({rrf_dir.resolve().name})"
    manifest["source"] = (
        f"{source.key} ({source.sha256[:16]}) with the products of the RxNorm release {rrf_dir.resolve().name}"
    )
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    seal_policy(target)
