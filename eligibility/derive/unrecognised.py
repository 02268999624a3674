"""What the policy could not read (spec §7): it is listed, never silently dropped.

- every active medication that identifies to nothing (no ingredient or product code, no known name);
- every ICD-10-CM- or CPT-shaped code of an active Condition or a Procedure that arrives under a
  missing or non-standard system — not guessed, so the clinic can map it.

Only v1.1 policies list them (a v1.0 decision replays with an empty list, as it was made).
"""

from __future__ import annotations

from eligibility.decision import Unrecognised
from eligibility.derive.context import Context
from eligibility.facts import Coding

__all__ = ["derive_unrecognised"]


def derive_unrecognised(ctx: Context) -> list[Unrecognised]:
    """What the policy could not read (spec §7): active medications it cannot identify, and codes of a
    known shape under a missing or unknown system. Empty under v1.0 policies."""
    identifier = ctx.policy.identifier
    if not identifier.v11:
        return []
    found: list[Unrecognised] = []
    for med in ctx.medications:
        if not ctx.active_at(med) or ctx.identify(med).recognised:
            continue
        coding = next((c for c in med.codes if ctx.policy.matcher.kind_of(c.system) == "rxnorm"), None)
        coding = coding or next((c for c in med.codes if c.code), None)
        found.append(_entry(med.reference, coding, ctx.medication_text(med)))
    coded = [(c.reference, c.codes, c.text) for c in ctx.active_conditions]
    coded += [(p.reference, p.codes, p.text) for p in ctx.procedures]
    for reference, codes, text in coded:
        for coding in codes:
            kind = identifier.unmapped_kind(coding)
            if kind is None or _sent_in_standard_form(ctx, codes, coding):
                continue
            found.append(_entry(reference, coding, coding.display or text))
    return sorted(set(found), key=lambda u: (u.reference, u.system or "", u.code or ""))


def _sent_in_standard_form(ctx: Context, codes: tuple[Coding, ...], coding: Coding) -> bool:
    """The same code also arrives under a system the policy knows: nothing is lost."""
    wanted = coding.code.replace(".", "").upper()
    return any(
        ctx.policy.matcher.kind_of(other.system) is not None and other.code.replace(".", "").upper() == wanted
        for other in codes
    )


def _entry(reference: str, coding: Coding | None, text: str | None) -> Unrecognised:
    return Unrecognised(
        reference=reference,
        system=(coding.system or None) if coding else None,
        code=(coding.code or None) if coding else None,
        text=text,
    )
