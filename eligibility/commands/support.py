"""What every `drg-eligibility` command group shares: exit codes, one-line errors, who is asking,
and opening the audit database. One copy, so every group fails the same way.

Exit codes: 0 done; 1 a check found a problem; 2 bad input or usage; 3 the audit trail is
unavailable (nothing was released).
"""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING, NoReturn

import typer

from eligibility.errors import AuditError
from eligibility.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = ["EXIT_AUDIT", "EXIT_PROBLEM", "EXIT_USAGE", "actor_name", "audit_engine_or_exit", "fail"]

EXIT_PROBLEM, EXIT_USAGE, EXIT_AUDIT = 1, 2, 3


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """One line on stderr, then exit; never a traceback for a user's mistake."""
    typer.echo(f"drg-eligibility: error: {message}", err=True)
    raise typer.Exit(code)


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
