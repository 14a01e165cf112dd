"""What every ``/api/v1/tracker/*`` route shares: the team, request models, responses.

Callers send ``Authorization: Bearer`` and ``X-Team-Slug`` (a team they belong to;
any other answers 404 ``team_not_found``, as a team that does not exist). Paths are
served with and without the trailing slash (the published clients differ).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Header
from pydantic import BaseModel, ConfigDict, Field

from spec_kitty_hub.api.deps import ApiErrorBody, DatabaseDep, PrincipalDep
from spec_kitty_hub.db.models import Team
from spec_kitty_hub.services.accounts import member_team
from spec_kitty_hub.tracker.problems import TrackerProblem

PROVIDERS = ("github", "gitlab", "jira", "linear")
F = TypeVar("F", bound=Callable[..., Any])


class TrackerErrorOut(BaseModel):
    """The PRI-12 error envelope (both key spellings)."""

    model_config = ConfigDict(extra="allow")
    code: str
    error_code: str
    category: str
    error_category: str
    message: str
    http_status: int
    retryable: bool
    user_action_required: bool
    source: str
    retry_after_seconds: float | None
    provider: str | None
    details: dict[str, Any]


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ApiErrorBody, "description": "Missing, invalid, expired or revoked token"},
    **{code: {"model": TrackerErrorOut, "description": text} for code, text in (
        (403, "No connection for the provider"),
        (404, "Unknown team, binding, mapping or operation"),
        (409, "Conflict (disabled binding, reused key, origin already bound)"),
        (429, "Provider rate limit"),
        (502, "Provider failure"),
        (503, "The hub has no tracker encryption key"))},
    # 400 is also FastAPI's answer to a body that is not JSON at all ({"detail": …}).
    400: {"description": "Bad request (missing routing key, idempotency key, bad candidate, "
                         "unparseable body)",
          "content": {"application/json": {"schema": {"anyOf": [
              {"$ref": "#/components/schemas/TrackerErrorOut"},
              {"type": "object", "required": ["detail"],
               "properties": {"detail": {}}}]}}}},
}


class Routed(BaseModel):
    """``provider`` plus ``binding_ref`` (wins) or ``project_slug``."""

    model_config = ConfigDict(extra="allow")
    provider: str = Field(max_length=32)
    binding_ref: str | None = Field(default=None, max_length=64)
    project_slug: str | None = Field(default=None, max_length=200)


class ProjectIdentity(BaseModel):
    model_config = ConfigDict(extra="allow")
    uuid: str = Field(min_length=1, max_length=64)
    slug: str | None = Field(default=None, max_length=200)


TeamHeader = Annotated[str, Header(alias="X-Team-Slug", max_length=64)]
KeyHeader = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]


def provider_of(name: str) -> str:
    provider = name.strip().lower()
    if provider not in PROVIDERS:
        raise TrackerProblem(400, "unknown_provider",
                             f"Unknown hub-backed provider {name!r}: use one of "
                             f"{', '.join(PROVIDERS)}.")
    return provider


def team_of(db: DatabaseDep, principal: PrincipalDep, slug: str) -> Team:
    with db.read() as session:
        found = member_team(session, principal.user_id, slug)
    if found is None:
        raise TrackerProblem(404, "team_not_found", f"No team {slug!r} for this account.")
    return found[0]


def require_key(key: str | None) -> str:
    if not key or not key.strip():
        raise TrackerProblem(400, "missing_idempotency_key",
                             "Write requests need an Idempotency-Key header.")
    return key.strip()


def both_paths(router: APIRouter, method: str, path: str, **options: Any) -> Callable[[F], F]:
    """Register ``path`` with a trailing slash (documented) and without (hidden)."""

    def register(function: F) -> F:
        router.add_api_route(f"{path}/", function, methods=[method], responses=ERRORS,
                             **options)
        router.add_api_route(path, function, methods=[method], include_in_schema=False,
                             **options)
        return function

    return register
