"""The browser app under `/ui`: specialists' worklist, screening list and case pages, the compliance dashboard.

`install(app)` mounts the stylesheet and the pages on the API's FastAPI app; they share its settings,
database, tokens and audit trail (eligibility.api.context).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from eligibility.web.answers import router as answers_router
from eligibility.web.routes import router
from eligibility.web.routes_screening import router as screening_router

__all__ = ["STATIC", "install", "router"]

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI) -> None:
    # The static mount goes first: the router's catch-all 404 page would otherwise shadow it.
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")
    app.include_router(screening_router)  # before `router`, whose catch-all 404 would shadow it
    app.include_router(answers_router)  # likewise
    app.include_router(router)
