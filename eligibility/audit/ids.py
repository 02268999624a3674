"""Decision ids as people type them: the full id, or its first characters as the web app shows them."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from eligibility.audit.models import KIND_DECISION, AuditRecord
from eligibility.errors import InputError

__all__ = ["MIN_PREFIX", "resolve_decision_id"]

MIN_PREFIX = 8  # what the worklist and case page show
_ID = re.compile(r"^[0-9A-Za-z][0-9A-Za-z\-.]{0,63}$")


def resolve_decision_id(session: Session, given: str) -> str:
    """The one recorded decision whose id is `given` or starts with it (at least 8 characters).

    InputError when none or several match, naming what to do.
    """
    given = given.strip()
    if not _ID.match(given):
        raise InputError(f"{given!r} is not a decision id", location="decision_id")
    table = AuditRecord.__table__  # type: ignore[attr-defined]
    query = select(table.c.decision_id).where(table.c.kind == KIND_DECISION)
    exact = session.execute(query.where(table.c.decision_id == given).limit(1)).first()
    if exact is not None:
        return given
    if len(given) < MIN_PREFIX:
        raise InputError(
            f"no decision {given!r}; give the id or at least its first {MIN_PREFIX} characters", location="decision_id"
        )
    found = [row[0] for row in session.execute(query.where(table.c.decision_id.startswith(given)).limit(2))]
    if not found:
        raise InputError(f"no decision {given!r}: no recorded decision id starts with it", location="decision_id")
    if len(found) > 1:
        raise InputError(f"several decisions have ids starting {given!r}; give more characters", location="decision_id")
    return str(found[0])
