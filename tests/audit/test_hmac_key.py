"""The store refuses to start with an unfit HMAC key outside development and test."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from eligibility.audit import checkpoints
from eligibility.audit.checkpoints import MIN_KEY_LENGTH, signer_from_settings
from eligibility.audit.database import get_engine
from eligibility.errors import AuditError
from eligibility.settings import DEV_HMAC_KEY, Settings, get_settings

STRONG = "s" * MIN_KEY_LENGTH


@pytest.mark.parametrize("environment", ["production", "staging"])
@pytest.mark.parametrize(
    ("key", "message"), [(DEV_HMAC_KEY, "development default"), ("short-secret", "at least 32 are required")]
)
def test_unfit_key_is_refused_outside_development(environment: str, key: str, message: str) -> None:
    with pytest.raises(AuditError, match=message):
        signer_from_settings(Settings(environment=environment, audit_hmac_key=key))


@pytest.mark.parametrize("environment", ["development", "test"])
def test_development_key_is_accepted_in_development_and_test(environment: str) -> None:
    signer = signer_from_settings(Settings(environment=environment, audit_hmac_key=DEV_HMAC_KEY))
    assert signer.key == DEV_HMAC_KEY.encode()


@pytest.mark.parametrize("environment", ["development", "test"])
def test_development_key_is_never_taken_up_silently(
    environment: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checkpoints, "_warned_dev_key", False)
    with caplog.at_level(logging.WARNING, logger="eligibility.audit"):
        signer_from_settings(Settings(environment=environment, audit_hmac_key=DEV_HMAC_KEY))
        signer_from_settings(Settings(environment=environment, audit_hmac_key=DEV_HMAC_KEY))
    [warning] = [r for r in caplog.records if "PUBLIC DEVELOPMENT DEFAULT" in r.getMessage()]  # once per process
    assert warning.levelno == logging.WARNING and "anyone can forge this trail" in warning.getMessage()
    caplog.clear()
    signer_from_settings(Settings(environment=environment, audit_hmac_key=STRONG))
    assert not caplog.records


def test_strong_key_is_accepted_in_production() -> None:
    signer = signer_from_settings(Settings(environment="production", audit_hmac_key=STRONG, checkpoint_every=50))
    assert (signer.key, signer.every) == (STRONG.encode(), 50)
    assert len(signer.key_id) == 16 and signer.key_id != signer_from_settings(Settings()).key_id


def test_empty_key_is_refused_everywhere() -> None:
    with pytest.raises(AuditError, match="empty"):
        signer_from_settings(Settings(environment="development", audit_hmac_key=""))


@pytest.fixture
def production_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("DRG_ELIGIBILITY_ENVIRONMENT", "production")
    monkeypatch.delenv("DRG_ELIGIBILITY_AUDIT_HMAC_KEY", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("production_env")
def test_store_refuses_to_start_before_connecting() -> None:
    # The URL points nowhere: the key check must fail first, with the clear message.
    with pytest.raises(AuditError, match="refusing to start in environment 'production'"):
        get_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
