"""Who may do what: bearer tokens with roles for the FHIR API, signed JWTs for CDS Hooks.

    permission        roles
    submit            referrer, admin
    read own          referrer (decisions whose audit record names them as the actor)
    read any          specialist, compliance, admin
    review            specialist, admin
    audit             compliance, admin

Missing or wrong credentials raise AuthenticationError (401 with a challenge), a role that does not
allow the call PermissionDeniedError (403); both become OperationOutcomes and are recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from eligibility.api.cds_auth import CdsClient
from eligibility.api.context import ApiContext, base_url, context_of
from eligibility.api.errors import AuthenticationError, PermissionDeniedError
from eligibility.api.users import ApiUser, Role, find_by_token
from eligibility.errors import AuditError

__all__ = [
    "AUDIT",
    "READ_ANY",
    "REVIEW",
    "SUBMIT",
    "CdsCaller",
    "Principal",
    "bearer_user",
    "cds_client",
    "require",
]

SUBMIT = frozenset({Role.REFERRER, Role.ADMIN})
READ_ANY = frozenset({Role.SPECIALIST, Role.COMPLIANCE, Role.ADMIN})
READ = READ_ANY | {Role.REFERRER}  # a referrer only their own (checked against the record)
REVIEW = frozenset({Role.SPECIALIST, Role.ADMIN})
AUDIT = frozenset({Role.COMPLIANCE, Role.ADMIN})

_api_token = HTTPBearer(
    auto_error=False,
    scheme_name="apiToken",
    description="An API token from `drg-eligibility users add NAME --role ROLE`.",
)
_cds_jwt = HTTPBearer(
    auto_error=False,
    scheme_name="cdsClientJwt",
    bearerFormat="JWT",
    description="CDS Hooks 2.0: a JWT signed by the CDS client (trusted issuer), aud = the endpoint URL.",
)


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    role: Role
    via: Literal["token"] = "token"
    # When this account was created. "Read own" is bound to the account, not the name: a name revoked
    # and issued again to someone else cannot read what was submitted under it before (one active
    # account per name at a time, so a decision belongs to the account active for its actor then).
    since: str = ""

    def may(self, permission: frozenset[Role]) -> bool:
        return self.role in permission

    def submitted(self, actor: str, recorded_at: str) -> bool:
        """Whether a record with this actor and time was submitted by this account."""
        return actor == self.name and recorded_at >= self.since


def _lookup(ctx: ApiContext, token: str) -> ApiUser | None:
    """The token's active user, read from the table (in the thread pool) and remembered if found."""
    read_at = ctx.tokens.now()  # before the read: the bound on revocation counts from here
    try:
        with ctx.read_session() as session:
            user = find_by_token(session, token)
    except SQLAlchemyError as exc:
        raise AuditError(f"the token could not be checked: {type(exc).__name__}") from exc
    if user is not None:
        ctx.tokens.put(token, user, read_at=read_at)
    return user


async def bearer_user(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_api_token)]
) -> Principal:
    """The caller named by the API token: remembered for at most a second (api/token_cache.py), else
    read from the database in the thread pool."""
    if credentials is None:
        raise AuthenticationError("this call needs 'Authorization: Bearer <API token>'", presented=False)
    ctx = context_of(request)
    user = ctx.tokens.get(credentials.credentials)
    if user is None:
        user = await run_in_threadpool(_lookup, ctx, credentials.credentials)
    if user is None:
        raise AuthenticationError("the API token is unknown or revoked")
    request.state.actor = user.name
    return Principal(name=user.name, role=user.role, since=user.created_at)


def require(permission: frozenset[Role], what: str) -> Any:
    """A dependency: the authenticated caller, if their role grants `permission`."""

    async def check(principal: Annotated[Principal, Depends(bearer_user)]) -> Principal:
        # async: no I/O here, so no thread-pool hop of its own
        if not principal.may(permission):
            allowed = ", ".join(sorted(permission))
            raise PermissionDeniedError(
                f"role {principal.role} may not {what} (needs one of: {allowed})", location="Authorization header"
            )
        return principal

    return Depends(check)


def cds_client(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_cds_jwt)]
) -> CdsClient:
    """The CDS client whose JWT is valid for exactly the endpoint being called."""
    audience = base_url(request) + request.url.path
    client = context_of(request).cds.verify(None if credentials is None else credentials.credentials, audience=audience)
    request.state.actor = client.actor
    return client


CdsCaller = Annotated[CdsClient, Depends(cds_client)]
