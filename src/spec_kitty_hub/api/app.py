"""The FastAPI application: ``create_app()`` is uvicorn's factory for every worker.

Each worker builds its own engine from the same settings (environment), so workers and
separate hub processes share nothing but the database.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import DataError

from spec_kitty_hub import __version__
from spec_kitty_hub.api import (
    access_log,
    boards,
    dossier,
    identity,
    oauth_endpoints,
    pages_oauth,
    pages_signin,
    sync_ingress,
    tracker_bind,
    tracker_sync,
)
from spec_kitty_hub.api.deps import ApiProblem, DatabaseDep
from spec_kitty_hub.api.request_guard import RequestGuard, data_error
from spec_kitty_hub.api.team_view import lists as team_lists
from spec_kitty_hub.api.team_view import mission as team_mission
from spec_kitty_hub.config import Settings, load_settings
from spec_kitty_hub.db.engine import Database
from spec_kitty_hub.services.signin import csrf_key
from spec_kitty_hub.tracker.problems import TrackerProblem

STATIC = Path(__file__).parent.parent / "static"
# Any other request body. Forms are tiny; a tracker push (at most 500 items, each with a
# ticket body) stays well under this, and no body of any size is read past it.
MAX_BODY = 16 << 20


class HealthOut(BaseModel):
    status: str
    version: str


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for ``settings`` (default: from the environment).

    The database must already be migrated (``spec-kitty-hub migrate``; ``serve`` does
    it for SQLite).
    """
    settings = settings or load_settings()
    db = Database(settings.database_url)
    access_log.install()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from spec_kitty_hub.tracker.worker import JobWorker

        worker = JobWorker(db)
        app.state.tracker_worker = worker
        worker.start()
        try:
            yield
        finally:
            worker.stop()
            db.dispose()

    app = FastAPI(title="spec-kitty hub", version=__version__, lifespan=lifespan,
                  docs_url="/api/docs", redoc_url=None)
    app.state.settings = settings
    app.state.db = db
    with db.read() as session:
        app.state.csrf_key = csrf_key(session)

    @app.exception_handler(ApiProblem)
    async def _problem(_request: Request, problem: ApiProblem) -> JSONResponse:
        headers = {"WWW-Authenticate": f'Bearer error="{problem.error}"'} \
            if problem.status == 401 else None
        return JSONResponse({"error": problem.error,
                             "error_description": problem.description},
                            status_code=problem.status, headers=headers)

    @app.exception_handler(TrackerProblem)
    async def _tracker_problem(_request: Request, problem: TrackerProblem) -> JSONResponse:
        headers = {"Retry-After": str(int(problem.retry_after_seconds))} \
            if problem.retry_after_seconds else None
        return JSONResponse(problem.envelope(), status_code=problem.status, headers=headers)

    # A NUL reaching PostgreSQL is a DataError: the client's fault, so a 400.
    app.add_exception_handler(DataError, data_error)
    # The sync endpoints cap their bodies themselves (and answer in their error shape).
    app.add_middleware(RequestGuard, max_body=MAX_BODY, own_caps=frozenset(
        {"/api/v1/events/batch/", "/api/dossier/push-content/"}))

    @app.get("/healthz", response_model=HealthOut, tags=["health"])
    def healthz(database: DatabaseDep) -> HealthOut:
        """Liveness and database reachability, for load balancers."""
        with database.read() as session:
            session.execute(text("SELECT 1"))
        return HealthOut(status="ok", version=__version__)

    app.include_router(oauth_endpoints.router)
    app.include_router(pages_oauth.router)
    app.include_router(pages_signin.router)
    app.include_router(identity.router)
    app.include_router(tracker_sync.router)
    app.include_router(tracker_bind.router)
    app.include_router(sync_ingress.router)
    app.include_router(dossier.router)
    app.include_router(boards.router)
    app.include_router(team_lists.router)
    app.include_router(team_mission.router)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    return app
