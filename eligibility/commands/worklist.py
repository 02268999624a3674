"""`audit reindex` and `audit promote`: the worklist index and the screening-to-review step at the CLI.

The index is derived (eligibility/audit/worklist_rebuild.py): `reindex` recomputes it from the trail
and says whether it had drifted; `audit verify` compares it too. `promote` is the web's "promote to
review" for a screener at the terminal, checked against the users table as `audit review` is.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import Console

from eligibility.commands.support import CHANNEL, EXIT_USAGE, domain_errors
from eligibility.commands.support import audit_engine_or_exit as _engine
from eligibility.commands.support import fail as _fail

__all__ = ["promote_command", "reindex_command"]

console = Console(highlight=False, soft_wrap=True)


def reindex_command() -> None:
    """Recompute the worklist index from the audit trail (decisions, reviews, promotions, stored inputs)."""
    from sqlalchemy.orm import Session

    from eligibility.audit.worklist_rebuild import check_index, rebuild_index

    engine = _engine()
    with domain_errors(), Session(engine) as session:
        started = time.perf_counter()
        before = check_index(session)
        rows = rebuild_index(session)
        session.commit()
        elapsed = time.perf_counter() - started
    drift = "it matched the trail" if before.ok else f"it had {len(before.problems) + before.more} difference(s)"
    console.print(f"worklist index rebuilt: {rows:,} decisions in {elapsed:.2f} s ({drift})")


def promote_command(
    decision_id: Annotated[str, typer.Argument(help="The screening decision (its id or first 8 characters).")],
    by: Annotated[str, typer.Option("--by", help="Who promotes it (an active specialist or admin).")],
    note: Annotated[str, typer.Option(help="Why, for the specialist.")] = "",
) -> None:
    """Put a batch screening decision in the specialists' review queue (recorded in the audit trail)."""
    from sqlalchemy.orm import Session

    from eligibility.api.auth import REVIEW
    from eligibility.api.users import active_user
    from eligibility.audit.database import read_session
    from eligibility.audit.ids import resolve_decision_id
    from eligibility.audit.promotion import append_promotion

    engine = _engine()
    with domain_errors():
        with read_session(engine) as session:
            user = active_user(session, by)
            decision_id = resolve_decision_id(session, decision_id)
        if user is None or user.role not in REVIEW:
            _fail(f"{by!r} is not an active specialist or admin (drg-eligibility users list)", EXIT_USAGE)
        with Session(engine) as session:
            record = append_promotion(session, decision_id=decision_id, promoter=user.name, channel=CHANNEL, note=note)
            session.commit()
    console.print(f"decision {decision_id} promoted to review by {user.name} (audit record seq {record.seq})")
