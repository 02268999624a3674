"""The one settings class. Read from environment variables prefixed `DRG_ELIGIBILITY_`.

No connection or file is opened here; callers ask for `get_settings()` when they need it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEV_HMAC_KEY", "Settings", "get_settings"]

# Only acceptable when environment == "development"; the audit store refuses it elsewhere.
DEV_HMAC_KEY = "development-only-insecure-key"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DRG_ELIGIBILITY_", extra="ignore")

    environment: str = "development"  # development | test | production
    database_url: str = f"sqlite:///{Path('var') / 'drg-eligibility.db'}"
    audit_hmac_key: str = DEV_HMAC_KEY
    checkpoint_every: int = 100  # sign a checkpoint after this many audit records
    default_policy: str = "drg-clinic@1.0.0"
    actor: str | None = None  # who is asking, for CLI use; defaults to the OS user


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
