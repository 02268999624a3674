"""The HTTP service for referring physicians: FHIR operation, CDS Hooks, tokens and roles.

from eligibility.app import create_app
app = create_app()            # served by `drg-eligibility serve`
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eligibility.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # Lazy: the app pulls in FastAPI, the web pages and the report renderer (≈ 3 s), which
    # `drg-eligibility --help` and the other commands that merely import eligibility.api.* never need.
    if name == "create_app":
        from eligibility.app import create_app

        return create_app
    raise AttributeError(name)
