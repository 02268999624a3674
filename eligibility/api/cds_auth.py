"""CDS Hooks 2.0 "Trusting CDS Clients": verify the client's signed JWT on every CDS call.

Checked: an asymmetric `alg` (never `none` or HMAC), `typ` JWT when given, a trusted `iss` and, for
issuers with several keys, the `kid` naming one of them; the signature; `aud` equal to the URL of the
endpoint being called; `exp`, `iat` (with 30 s of clock skew, and at most `max_age_s` between
them); a `jti` not seen before (an in-memory, bounded replay cache: enough for one server process,
since a token lives at most `max_age_s`); `sub` from the issuer's allow-list when it has one.

Keys are exchanged out of band: the issuers file (settings.api_cds_issuers) maps each trusted `iss`
to its JWK Set or PEM public key. A `jku` header is never fetched: a URL in a token cannot vouch
for the key that signs the token.

    {"issuers": {"https://ehr.example.org": {"jwks_file": "ehr-jwks.json", "subjects": ["cds-client"],
                                             "fhir_servers": ["https://ehr.example.org/fhir"]}}}

Key sources per issuer: "jwks" (inline JWK Set), "jwks_file", or "pem_file" (with an optional "kid").
Relative file names are read from the issuers file's folder. "subjects" and "fhir_servers" (the URL
prefixes this client's `fhirServer` may have; we send its access token there) are optional allow-lists.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from eligibility.api.errors import AuthenticationError, PermissionDeniedError
from eligibility.errors import EligibilityError

__all__ = ["CdsClient", "CdsConfigError", "CdsVerifier", "ReplayCache", "TrustedIssuer", "load_issuers"]

_LEEWAY_S = 30
_SCHEME = "Bearer"
_KEY_FAMILIES: Mapping[str, tuple[type, ...]] = {
    "RS": (rsa.RSAPublicKey,),
    "PS": (rsa.RSAPublicKey,),
    "ES": (ec.EllipticCurvePublicKey,),
    "Ed": (ed25519.Ed25519PublicKey, ed448.Ed448PublicKey),
}
ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"})
PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey


class CdsConfigError(EligibilityError):
    """The trusted-issuers file is missing or wrong; the service does not start."""


@dataclass(frozen=True, slots=True)
class TrustedIssuer:
    iss: str
    keys: Mapping[str | None, PublicKey]  # by kid (None: a PEM key configured without one)
    subjects: frozenset[str] | None = None
    fhir_servers: tuple[str, ...] | None = None  # fhirServer URL prefixes we may call for this client


@dataclass(frozen=True, slots=True)
class CdsClient:
    """A verified CDS client call."""

    iss: str
    sub: str | None
    jti: str
    tenant: str | None = None

    @property
    def actor(self) -> str:
        """How the audit trail names this caller (its actor column holds 200 characters)."""
        return (f"{self.sub}@{self.iss}" if self.sub else self.iss)[:200]


def _public_key(value: Any, where: str) -> PublicKey:
    if not isinstance(
        value, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey
    ):
        raise CdsConfigError(f"{where}: not an asymmetric public key (HMAC secrets and private keys are refused)")
    return value


def _jwks_keys(jwks: Any, where: str) -> dict[str | None, PublicKey]:
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise CdsConfigError(f"{where}: a JWK Set needs a 'keys' list")
    keys: dict[str | None, PublicKey] = {}
    for index, jwk in enumerate(jwks["keys"]):
        if not isinstance(jwk, dict) or jwk.get("kty") not in {"RSA", "EC", "OKP"} or "d" in jwk:
            raise CdsConfigError(f"{where}: keys[{index}] is not an RSA/EC/OKP public key")
        try:
            key = jwt.PyJWK(jwk).key
        except jwt.PyJWTError as exc:
            raise CdsConfigError(f"{where}: keys[{index}]: {exc}") from exc
        keys[jwk.get("kid")] = _public_key(key, f"{where}: keys[{index}]")
    return keys


def _issuer(iss: str, entry: Any, folder: Path) -> TrustedIssuer:
    where = f"issuer {iss!r}"
    if not isinstance(entry, dict):
        raise CdsConfigError(f"{where}: expected an object")
    try:
        if "jwks" in entry:
            keys = _jwks_keys(entry["jwks"], where)
        elif "jwks_file" in entry:
            keys = _jwks_keys(json.loads((folder / entry["jwks_file"]).read_text("utf-8")), where)
        elif "pem_file" in entry:
            pem = (folder / entry["pem_file"]).read_bytes()
            keys = {entry.get("kid"): _public_key(load_pem_public_key(pem), where)}
        else:
            raise CdsConfigError(f"{where}: give 'jwks', 'jwks_file' or 'pem_file'")
    except (OSError, ValueError) as exc:
        raise CdsConfigError(f"{where}: {exc}") from exc
    if not keys:
        raise CdsConfigError(f"{where}: no keys")
    subjects = _strings(entry, "subjects", where)
    servers = _strings(entry, "fhir_servers", where)
    return TrustedIssuer(
        iss=iss,
        keys=keys,
        subjects=None if subjects is None else frozenset(subjects),
        fhir_servers=None if servers is None else tuple(servers),
    )


def _strings(entry: dict[str, Any], name: str, where: str) -> list[str] | None:
    value = entry.get(name)
    if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        raise CdsConfigError(f"{where}: {name!r} must be a list of strings")
    return value


def load_issuers(path: str | Path | None) -> dict[str, TrustedIssuer]:
    """The trusted issuers; none (every CDS call refused) when no file is configured."""
    if path is None:
        return {}
    file = Path(path)
    try:
        document = json.loads(file.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise CdsConfigError(f"cannot read the CDS issuers file {file}: {exc}") from exc
    issuers = document.get("issuers") if isinstance(document, dict) else None
    if not isinstance(issuers, dict):
        raise CdsConfigError(f'{file}: expected {{"issuers": {{iss: {{...}}}}}}')
    return {iss: _issuer(iss, entry, file.parent) for iss, entry in issuers.items()}


@dataclass(slots=True)
class ReplayCache:
    """(iss, jti) pairs seen, kept until their token expires; the oldest go first when full."""

    capacity: int = 100_000
    _seen: OrderedDict[tuple[str, str], float] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def first_use(self, iss: str, jti: str, *, expires: float, now: float) -> bool:
        with self._lock:
            while self._seen and next(iter(self._seen.values())) < now - _LEEWAY_S:
                self._seen.popitem(last=False)
            if (iss, jti) in self._seen:
                return False
            self._seen[(iss, jti)] = expires
            while len(self._seen) > self.capacity:
                self._seen.popitem(last=False)
            return True


def _fail(message: str) -> AuthenticationError:
    return AuthenticationError(f"CDS client JWT refused: {message}", scheme=_SCHEME)


class SeenTokenStore(Protocol):
    """Where seen (iss, jti) pairs are kept: `ReplayCache` in memory, `api.seen_tokens.SeenTokens`
    in the database (the service's: shared by workers, kept over restarts)."""

    def first_use(self, iss: str, jti: str, *, expires: float, now: float) -> bool: ...


class CdsVerifier:
    def __init__(
        self,
        issuers: Mapping[str, TrustedIssuer],
        *,
        max_age_s: int = 300,
        replay: SeenTokenStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuers = dict(issuers)
        self.max_age_s = max_age_s
        self.replay: SeenTokenStore = replay or ReplayCache()
        self.clock = clock

    def verify(self, token: str | None, *, audience: str) -> CdsClient:
        if not token:
            raise AuthenticationError(
                "CDS Hooks calls need 'Authorization: Bearer <JWT signed by the CDS client>'",
                scheme=_SCHEME,
                presented=False,
            )
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise _fail(f"not a JWT ({exc})") from None
        iss = claims.get("iss")
        issuer = self.issuers.get(iss) if isinstance(iss, str) else None
        if issuer is None:
            raise _fail(f"issuer {iss!r} is not trusted")
        key, algorithm = self._key(issuer, header)
        try:
            verified = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=[audience, audience + "/"],
                issuer=issuer.iss,
                leeway=_LEEWAY_S,
                options={"require": ["iss", "aud", "exp", "iat", "jti"]},
            )
        except jwt.PyJWTError as exc:
            raise _fail(str(exc)) from None
        return self._check_claims(issuer, verified)

    def _key(self, issuer: TrustedIssuer, header: Mapping[str, Any]) -> tuple[PublicKey, str]:
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in ALGORITHMS:
            raise _fail(f"alg {algorithm!r} is not accepted (asymmetric signatures only)")
        typ = header.get("typ", "JWT")
        if not isinstance(typ, str) or typ.upper() != "JWT":
            raise _fail(f"typ {typ!r} is not JWT")
        kid = header.get("kid")
        if not isinstance(kid, str | None):
            raise _fail("kid must be a string")
        if kid in issuer.keys:
            key = issuer.keys[kid]
        elif kid is None and len(issuer.keys) == 1:
            key = next(iter(issuer.keys.values()))
        else:
            raise _fail(f"kid {kid!r} names no key of issuer {issuer.iss!r}")
        if not isinstance(key, _KEY_FAMILIES[algorithm[:2]]):
            raise _fail(f"alg {algorithm} does not fit the issuer's key {kid!r}")
        return key, algorithm

    def _check_claims(self, issuer: TrustedIssuer, claims: Mapping[str, Any]) -> CdsClient:
        now = self.clock()
        issued, expires, jti = claims["iat"], claims["exp"], claims["jti"]
        if not isinstance(issued, int | float) or not isinstance(expires, int | float):
            raise _fail("iat and exp must be numbers")
        if expires <= issued:  # a negative lifetime passed the max-age check (issue 12)
            raise _fail(f"exp ({expires:g}) is not after iat ({issued:g})")
        if expires - issued > self.max_age_s:
            raise _fail(f"the token lives {expires - issued:g} s; at most {self.max_age_s} s are accepted")
        if not isinstance(jti, str) or not jti:
            raise _fail("jti must be a non-empty string")
        sub = claims.get("sub")
        if sub is not None and not isinstance(sub, str):
            raise _fail("sub must be a string")
        if issuer.subjects is not None and sub not in issuer.subjects:
            raise PermissionDeniedError(
                f"subject {sub!r} of issuer {issuer.iss!r} is not allowed", location="JWT sub claim"
            )
        if not self.replay.first_use(issuer.iss, jti, expires=float(expires), now=now):
            raise _fail(f"jti {jti!r} was already used (replay)")
        tenant = claims.get("tenant")
        return CdsClient(iss=issuer.iss, sub=sub, jti=jti, tenant=tenant if isinstance(tenant, str) else None)
