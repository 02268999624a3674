"""The roles of the service's users, in a module of its own: the CLI's options name them without
loading the user table and the audit store behind it."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Role"]


class Role(StrEnum):
    REFERRER = "referrer"  # submits records; reads the decisions they submitted
    SPECIALIST = "specialist"  # reads every decision; reviews (accepts / overrides) them
    COMPLIANCE = "compliance"  # reads decisions and the audit trail
    ADMIN = "admin"  # everything
