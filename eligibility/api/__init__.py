"""The HTTP service for referring physicians: FHIR operation, CDS Hooks, tokens and roles.

from eligibility.api import create_app
app = create_app()            # served by `drg-eligibility serve`
"""

from __future__ import annotations

from eligibility.api.app import create_app

__all__ = ["create_app"]
