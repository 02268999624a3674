"""The CDS client JWT (CDS Hooks 2.0 "Trusting CDS Clients"): every way a token can be wrong is a 401."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jwt
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from eligibility.api.cds_auth import CdsConfigError, CdsVerifier, ReplayCache, load_issuers
from eligibility.api.errors import AuthenticationError, PermissionDeniedError
from fhir_adapters.cds_hooks import SERVICE_ID
from tests.api.conftest import Api
from tests.api.helpers import BASE, CLIENT, ISSUER, RSA_ISSUER, ClientKeys, records

PATH = f"/cds-services/{SERVICE_ID}"
AUD = BASE + PATH


@pytest.fixture
def verifier(issuers_file: Path) -> CdsVerifier:
    return CdsVerifier(load_issuers(issuers_file), max_age_s=300)


def test_a_good_token_names_the_client(verifier: CdsVerifier, keys: ClientKeys) -> None:
    client = verifier.verify(keys.token(PATH, claims={"tenant": "clinic-7"}), audience=AUD)
    assert (client.iss, client.sub, client.tenant, client.actor) == (ISSUER, CLIENT, "clinic-7", f"{CLIENT}@{ISSUER}")


def test_an_rs384_token_from_a_pem_issuer(verifier: CdsVerifier, keys: ClientKeys) -> None:
    token = keys.token(PATH, claims={"iss": RSA_ISSUER, "sub": None}, algorithm="RS384", headers={"kid": None})
    assert verifier.verify(token, audience=AUD).actor == RSA_ISSUER


def _now() -> int:
    return int(time.time())


BAD_TOKENS: dict[str, dict[str, Any]] = {
    "wrong audience": {"claims": {"aud": BASE + "/cds-services/other"}},
    "expired": {"claims": {"iat": _now() - 600, "exp": _now() - 300}},
    "issued in the future": {"claims": {"iat": _now() + 3600, "exp": _now() + 3700}},
    "lives too long": {"claims": {"exp": _now() + 3600}},
    # issue 12: both inside the clock-skew leeway, so only exp <= iat itself can refuse it
    "expires before it was issued": {"claims": {"iat": _now() + 20, "exp": _now() + 10}},
    "unknown issuer": {"claims": {"iss": "https://evil.example.org"}},
    "no jti": {"claims": {"jti": None}},
    "no exp": {"claims": {"exp": None}},
    "unknown kid": {"headers": {"kid": "someone-elses-key"}},
    "typ not JWT": {"headers": {"typ": "at+jwt"}},
    "signed by another key": {"key": ec.generate_private_key(ec.SECP384R1())},
    "alg does not fit the key": {"algorithm": "RS384"},
}


@pytest.mark.parametrize("spec", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
def test_bad_tokens_are_refused(verifier: CdsVerifier, keys: ClientKeys, spec: dict[str, Any]) -> None:
    with pytest.raises(AuthenticationError):
        verifier.verify(keys.token(PATH, **spec), audience=AUD)


def test_symmetric_and_unsigned_tokens_are_refused(verifier: CdsVerifier, keys: ClientKeys) -> None:
    claims = jwt.decode(keys.token(PATH), options={"verify_signature": False})
    for algorithm, key in (("HS256", "shared-secret-of-at-least-32-bytes!!"), ("none", None)):
        token = jwt.encode(claims, key, algorithm=algorithm, headers={"kid": keys.kid})
        with pytest.raises(AuthenticationError, match="alg"):
            verifier.verify(token, audience=AUD)
    for garbage in ("", "not.a.jwt", "a.b"):
        with pytest.raises(AuthenticationError):
            verifier.verify(garbage or None, audience=AUD)


def test_a_replayed_token_is_refused(verifier: CdsVerifier, keys: ClientKeys) -> None:
    token = keys.token(PATH)
    verifier.verify(token, audience=AUD)
    with pytest.raises(AuthenticationError, match="replay"):
        verifier.verify(token, audience=AUD)


def test_subject_allow_list(verifier: CdsVerifier, keys: ClientKeys) -> None:
    with pytest.raises(PermissionDeniedError):
        verifier.verify(keys.token(PATH, claims={"sub": "some-other-client"}), audience=AUD)


def test_replay_cache_is_bounded_and_forgets_expired_tokens() -> None:
    cache = ReplayCache(capacity=3)
    now = 1_000_000.0
    for n in range(5):
        assert cache.first_use("iss", f"j{n}", expires=now + 60, now=now)
    assert len(cache._seen) == 3
    assert not cache.first_use("iss", "j4", expires=now + 60, now=now)
    assert cache.first_use("iss", "j4", expires=now + 600, now=now + 200)  # expired entries dropped


def test_issuer_files_refuse_secrets_and_private_keys(tmp_path: Path, keys: ClientKeys) -> None:
    private = orjson.loads(jwt.algorithms.ECAlgorithm.to_jwk(keys.ec))
    for jwk in ({"kty": "oct", "k": "c2VjcmV0"}, private):
        path = tmp_path / "issuers.json"
        path.write_bytes(orjson.dumps({"issuers": {ISSUER: {"jwks": {"keys": [jwk]}}}}))
        with pytest.raises(CdsConfigError):
            load_issuers(path)
    assert load_issuers(None) == {}


def test_over_http_a_bad_jwt_is_a_recorded_401(sqlite_api: Api) -> None:
    body = {"hook": "patient-view", "hookInstance": "x", "context": {"patientId": "p"}}
    response = sqlite_api.cds(PATH, body, claims={"aud": "https://elsewhere.example.org" + PATH})
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert response.json()["issue"][0]["code"] == "login"
    [rejection] = records(sqlite_api.engine, "rejection")
    assert rejection.actor == "anonymous@127.0.0.1" and rejection.channel == "cds-hooks"
    api_token = sqlite_api.http.post(PATH, json=body, headers=sqlite_api.bearer())
    assert api_token.status_code == 401  # an API token is not a CDS client's signed JWT


# The refused start is what is tested: uvicorn exits its server thread with SystemExit(3).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_outside_development_the_service_needs_its_public_url(tmp_path: Path) -> None:
    from eligibility.app import create_app, require_base_url
    from eligibility.settings import Settings
    from tests.api.conftest import serve

    production = Settings(environment="production", audit_hmac_key="k" * 40, database_url=f"sqlite:///{tmp_path}/p.db")
    with pytest.raises(RuntimeError, match="did not start"), serve(create_app(production)):
        pass  # uvicorn's lifespan failed: the service does not listen

    with pytest.raises(CdsConfigError, match="set DRG_ELIGIBILITY_API_BASE_URL"):
        require_base_url(Settings(environment="production"))  # was: the audience followed the Host header
    require_base_url(Settings(environment="production", api_base_url="https://drg.example.org"))
    require_base_url(Settings(environment="development"))
