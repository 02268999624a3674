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
    checkpoint_interval_s: float = 60.0  # ... and when the newest is older than this (0: records only)
    # The witness: signed heads published outside the database (see docs/audit.md). Default: beside
    # a SQLite file in `witness/`, else <data_dir>/witness/<backend>-<url hash>.witness.jsonl.
    audit_witness_path: Path | None = None
    audit_witness_mirror_path: Path | None = None  # a second copy, e.g. on another disk
    # A trail with checkpoints but no witness (from before the witness, or the witness was deleted):
    # start a witness from the database's checkpoints? Default: only in development and test.
    audit_witness_adopt: bool | None = None
    default_policy: str = "drg-clinic@1.1.0"
    # Further folders of policy versions (os.pathsep-separated), e.g. a site's own `import-rxnorm` versions;
    # each holds <id>/<version>/manifest.json like the package's own policies/ folder.
    policy_dirs: str | None = None
    actor: str | None = None  # who is asking, for CLI use; defaults to the OS user
    # Validate every resource of a read type with the R4B models, not only what the policy reads; a
    # problem in an unread resource then rejects the input instead of being a warning (pipeline.py).
    read_all: bool = False
    # Batch export reader (eligibility/batch/export_reader.py).
    batch_max_line_bytes: int = 16 << 20  # a longer line is a rejection holding its length and hash
    batch_max_gzip_ratio: float = 100.0  # a .gz inflating more than this many times is refused

    # The HTTP service (`drg-eligibility serve`).
    api_base_url: str | None = None  # public URL (links, CDS JWT `aud`); default: as the request reached us
    api_workers: int = 2  # rule-evaluation worker processes
    api_max_body_bytes: int = 8 * 1024 * 1024  # larger submissions get 413 before they are read
    api_card_link_ttl_s: int = 8 * 3600  # card links (bearer-like) expire after this (was 7 days)
    api_max_header_bytes: int = 16 * 1024  # a larger request line + headers gets 431 (api/server.py)
    api_refusals_burst: int = 20  # refused unauthenticated calls recorded one by one per address and window
    api_refusals_window_s: float = 60.0  # ... beyond: 429, and one summary record per window
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
