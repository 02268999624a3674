"""What every `drg-eligibility` command group shares: exit codes, one-line errors, who is asking,
and opening the audit database. One copy, so every group fails the same way.

Exit codes: 0 done; 1 a check found a problem (or the engine could not evaluate); 2 bad input or
usage; 3 the audit trail is unavailable (nothing was released). Errors reach them through one table,
`EXIT`, as the API's errors reach their HTTP statuses through `eligibility.api.errors.STATUS`.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, NoReturn

import typer

from eligibility.errors import AuditError, EligibilityError, EngineError, InputError, PolicyError
from eligibility.settings import get_settings

if TYPE_CHECKING:
    from typing import Any

    from sqlalchemy import Engine

CHANNEL = "cli"  # how the audit trail names where a command's records came from

__all__ = [
    "EXIT",
    "EXIT_AUDIT",
    "EXIT_PROBLEM",
    "EXIT_USAGE",
    "actor_name",
    "audit_engine_or_exit",
    "domain_errors",
    "exit_code_for",
    "fail",
    "record_access",
    "refuse_far_future",
]

EXIT_PROBLEM, EXIT_USAGE, EXIT_AUDIT = 1, 2, 3

# The most specific class of an error's MRO found here gives its exit code.
EXIT: Mapping[type[BaseException], int] = {
    InputError: EXIT_USAGE,  # the input or an option: fix it and run again
    PolicyError: EXIT_USAGE,  # an unknown or broken --policy
    AuditError: EXIT_AUDIT,  # the trail could not record or be read: nothing was released
    EngineError: EXIT_PROBLEM,  # the engine could not complete an evaluation (never a silent decision)
    EligibilityError: EXIT_PROBLEM,
}


def exit_code_for(error: BaseException) -> int:
    for cls in type(error).__mro__:
        if cls in EXIT:
            return EXIT[cls]
    return EXIT_PROBLEM


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """One line on stderr, then exit; never a traceback for a user's mistake."""
    typer.echo(f"drg-eligibility: error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def domain_errors(*, input_prefix: str = "", audit_prefix: str = "", audit_suffix: str = "") -> Iterator[None]:
    """Run a command body: a domain error becomes one line and the exit code `EXIT` gives it.

    The prefixes say where (a file name) or what it means for the user ("no decision released: ").
    """
    from sqlalchemy.exc import SQLAlchemyError  # here: ≈ 0.2 s that --help never needs

    try:
        yield
    except AuditError as exc:
        fail(f"{audit_prefix}{exc.one_line()}{audit_suffix}", EXIT_AUDIT)
    except InputError as exc:
        fail(f"{input_prefix}{exc.one_line()}", exit_code_for(exc))
    except EligibilityError as exc:
        fail(exc.one_line(), exit_code_for(exc))
    except SQLAlchemyError as exc:
        fail(f"{audit_prefix}audit database error: {str(exc).splitlines()[0]}{audit_suffix}", EXIT_AUDIT)


def actor_name() -> str:
    return get_settings().actor or f"cli:{getpass.getuser()}"


def audit_engine_or_exit() -> Engine:
    # Imported here: SQLAlchemy and the migrations cost ≈ 0.4 s that --help and `policy` never need.
    from sqlalchemy.exc import SQLAlchemyError

    from eligibility.audit.database import get_engine

    try:
        return get_engine()
    except AuditError as exc:
        fail(exc.one_line(), EXIT_AUDIT)
    except SQLAlchemyError as exc:
        fail(f"cannot open the audit database: {str(exc).splitlines()[0]}", EXIT_AUDIT)


def record_access(
    engine: Engine, *, purpose: str, decision_id: str | None = None, query: dict[str, Any] | None = None
) -> None:
    """Record a read of the trail and commit it before the command shows or writes anything."""
    from sqlalchemy.orm import Session

    from eligibility.audit import store

    with Session(engine) as session:
        store.append_access(
            session, actor=actor_name(), channel=CHANNEL, purpose=purpose, decision_id=decision_id, query=query
        )
        session.commit()


def refuse_far_future(day: date, *, option: str, channel: str) -> None:
    """An evaluation day more than a year ahead of today is refused (one line) and recorded as a rejection."""
    from eligibility.from_fhir import check_as_of_ahead

    try:
        check_as_of_ahead(day, today=date.today())  # the CLI is an edge: it reads the clock
    except InputError as exc:
        from eligibility.service import record_refusal

        try:
            record_refusal(exc, actor=actor_name(), channel=channel, as_of=day)
        except AuditError as audit:
            fail(f"no decision released: {audit.one_line()}", code=EXIT_AUDIT)
        fail(exc.message.replace("asOf", option, 1))
