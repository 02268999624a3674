"""The one settings class. Read from environment variables prefixed `DRG_ELIGIBILITY_`.

No connection or file is opened here; callers ask for `get_settings()` when they need it.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import platformdirs
from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEV_HMAC_KEY", "Settings", "get_settings"]

# Only acceptable when environment == "development"; the audit store refuses it elsewhere.
DEV_HMAC_KEY = "development-only-insecure-key"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DRG_ELIGIBILITY_", extra="ignore")

    environment: str = "development"  # development | test | production
    # One per-user place for the embedded trail, whatever the working directory: a relative default
    # made a second, silent trail in every folder a command ran from.
    data_dir: Path = platformdirs.user_data_path("drg-eligibility")
    database_url: str = ""  # default: SQLite <data_dir>/drg-eligibility.db
    audit_hmac_key: str = DEV_HMAC_KEY
    checkpoint_every: int = 100  # sign a checkpoint after this many audit records
    default_policy: str = "drg-clinic@1.1.0"
    # Further folders of policy versions (os.pathsep-separated), e.g. a site's own `import-rxnorm` versions;
    # each holds <id>/<version>/manifest.json like the package's own policies/ folder.
    policy_dirs: str | None = None
    actor: str | None = None  # who is asking, for CLI use; defaults to the OS user
    # Validate every resource of a read type with the R4B models, not only what the policy reads; a
    # problem in an unread resource then rejects the input instead of being a warning (pipeline.py).
    read_all: bool = False

    # The HTTP service (`drg-eligibility serve`).
    api_base_url: str | None = None  # public URL (links, CDS JWT `aud`); default: as the request reached us
    api_workers: int = 2  # rule-evaluation worker processes
    api_max_body_bytes: int = 8 * 1024 * 1024  # larger submissions get 413 before they are read
    api_request_timeout_s: float = 15.0  # a client that takes longer to send its body gets 408
    api_evaluation_timeout_s: float = 30.0  # a worker that takes longer is recycled; the request gets 503
    api_cds_issuers: str | None = None  # JSON file: trusted CDS client issuers and their public keys
    api_cds_max_token_age_s: int = 300  # CDS client JWTs: the longest lifetime (exp - iat) accepted
    api_fhir_fetch_timeout_s: float = 5.0  # total time allowed to fetch data from a CDS client's FHIR server

    @model_validator(mode="after")
    def _default_database(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'drg-eligibility.db'}"
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
