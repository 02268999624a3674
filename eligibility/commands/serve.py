"""`drg-eligibility serve` and `drg-eligibility users …`: the service and its API tokens.

    register(app)      # adds `serve` and the `users` group to the main typer app

Exit codes follow the main CLI: 2 bad input or usage, 3 the audit trail could not record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from eligibility.api.roles import Role
from eligibility.commands.support import actor_name as _actor
from eligibility.commands.support import domain_errors
from eligibility.commands.support import fail as _fail
from eligibility.errors import AuditError, EligibilityError
from eligibility.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

__all__ = ["register"]

_CHANNEL = "cli"


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[
        int | None, typer.Option(help="Rule-evaluation worker processes (default: settings, 2).", min=1)
    ] = None,
) -> None:
    """Serve the FHIR operation and the CDS Hooks services (FastAPI on uvicorn)."""
    import uvicorn

    from eligibility.api.server import uvicorn_config
    from eligibility.app import create_app

    settings = get_settings()
    if workers is not None:
        settings = settings.model_copy(update={"api_workers": workers})
    try:
        uvicorn.Server(uvicorn_config(create_app(settings), settings, host=host, port=port, log_level="info")).run()
    except EligibilityError as exc:  # startup refused: unfit audit key, bad CDS issuers file …
        _fail(exc.one_line(), 3 if isinstance(exc, AuditError) else 2)


def users_add(
    name: Annotated[str, typer.Argument(help="Who the token is for; decisions record this name as the actor.")],
    role: Annotated[Role, typer.Option(help="referrer, specialist, compliance or admin.")],
) -> None:
    """Issue an API token; it is printed once and only its hash is kept."""
    from eligibility.api.users import add_user

    with domain_errors(), _open() as session:
        token = add_user(session, name=name, role=role, actor=_actor(), channel=_CHANNEL)
        session.commit()
    typer.echo(f"token for {name.strip()} ({role.value}); it is shown only now:", err=True)
    typer.echo(token)


def users_revoke(name: Annotated[str, typer.Argument(help="The user whose token stops working now.")]) -> None:
    """Revoke a user's active token (recorded in the audit trail)."""
    from eligibility.api.users import revoke_user

    with domain_errors(), _open() as session:
        user = revoke_user(session, name=name, actor=_actor(), channel=_CHANNEL)
        session.commit()
    typer.echo(f"revoked {user.name} ({user.role.value}) at {user.revoked_at}")


def users_list(
    include_revoked: Annotated[bool, typer.Option("--all", help="Show revoked tokens too.")] = False,
) -> None:
    """List API users and their roles (never their tokens)."""
    from eligibility.api.users import list_users

    with _open() as session:
        found = list_users(session, include_revoked=include_revoked)
    for user in found:
        state = f"revoked {user.revoked_at}" if user.revoked_at else "active"
        typer.echo(f"{user.name:<32} {user.role.value:<11} created {user.created_at}  {state}")


def users_sessions() -> None:
    """Open browser sessions (ended at logout, or when they expire), for admins."""
    import time

    from eligibility.web.sign_in_records import list_open

    with _open() as session:
        found = list_open(session, now=time.time())  # the CLI is an edge: it may read the clock
    for item in found:
        typer.echo(f"{item.session}  {item.user_name:<32} since {item.created_at}  until {int(item.expires)}")
    typer.echo(f"{len(found)} open session(s)")


def _open() -> Session:
    """A session on the configured database (migrated first, so the users table exists)."""
    from eligibility.audit.database import session_factory

    try:
        return session_factory()()
    except EligibilityError as exc:
        _fail(exc.one_line(), 3)
        raise


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    users = typer.Typer(help="API users: tokens with a role (referrer, specialist, compliance, admin).")
    users.command("add")(users_add)
    users.command("list")(users_list)
    users.command("revoke")(users_revoke)
    users.command("sessions")(users_sessions)
    app.add_typer(users, name="users", no_args_is_help=True)


if __name__ == "__main__":  # `python -m eligibility.commands.serve serve`: the same commands on their own
    standalone = typer.Typer(no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
    register(standalone)
    standalone()
