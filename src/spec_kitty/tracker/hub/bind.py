"""Binding a repository to a hub-backed tracker: resolve → confirm or select → persist.

Rules (Spec Kitty tracker reference §4, ``bind``):

* ``--bind-ref R``: bind-validate, then persist (an invalid ref names the reason);
* ``--select N``: the N-th resource of ``discover`` (numbered from 1), confirmed;
* otherwise bind-resolve: ``exact`` with a ``binding_ref`` is persisted directly,
  ``exact`` without one is confirmed, ``candidates`` are offered through ``choose``
  (the CLI prompts "Select resource (1-N)", or refuses when it cannot ask), ``none``
  fails with :data:`NO_RESOURCES`;
* replacing an existing binding without ``--bind-ref``/``--select`` asks ``confirm``
  first ("Replace existing binding? (y/N)").

Only an explicit bind writes the config; reads never do.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from spec_kitty.tracker.config import TrackerBinding, config_path, load_binding, save_binding
from spec_kitty.tracker.errors import TrackerError

NO_RESOURCES = ("No bindable resources found for {provider}. Verify the tracker is "
                "connected on the team hub (`spec-kitty-hub tracker connect`).")


class BindClient(Protocol):
    def resources(self, provider: str) -> dict[str, Any]: ...

    def bind_resolve(self, provider: str, identity: dict[str, Any]) -> dict[str, Any]: ...

    def bind_confirm(self, provider: str, candidate_token: str,
                     identity: dict[str, Any]) -> dict[str, Any]: ...

    def bind_validate(self, provider: str, binding_ref: str,
                      identity: dict[str, Any]) -> dict[str, Any]: ...


def project_identity(root: Path) -> dict[str, Any]:
    """``{uuid, slug, node_id, repo_slug, build_id}`` from ``.kittify/config.yaml``."""
    from spec_kitty.repo.config import load_config

    path = config_path(root)
    project = load_config(path).get("project") if path.exists() else None
    if not isinstance(project, dict) or not str(project.get("uuid") or "").strip():
        raise TrackerError(f"{path}: project.uuid is missing; run `spec-kitty init` first.",
                           "TRACKER_PROJECT_IDENTITY_MISSING")
    return {"uuid": str(project["uuid"]), "slug": str(project.get("slug") or root.name),
            "node_id": project.get("node_id"), "repo_slug": root.name,
            "build_id": project.get("build_id")}


def discover(client: BindClient, provider: str) -> list[dict[str, Any]]:
    """The team's resources for ``provider``, numbered from 1 (``number``, ``is_bound``)."""
    rows = client.resources(provider).get("resources") or []
    return [{**row, "number": index, "is_bound": bool(row.get("binding_ref"))}
            for index, row in enumerate(rows, start=1)]


def _persist(root: Path, provider: str, answer: dict[str, Any]) -> TrackerBinding:
    context = answer.get("provider_context") or {}
    binding = load_binding(root).with_changes(
        provider=provider, binding_ref=answer.get("binding_ref"),
        project_slug=answer.get("project_slug"), workspace=None,
        display_label=answer.get("display_label"),
        provider_context={str(k): str(v) for k, v in context.items()})
    save_binding(root, binding)
    return binding


def bind_through_hub(root: Path, provider: str, client: BindClient, *,
                     bind_ref: str | None = None, select: int | None = None,
                     choose: Callable[[list[dict[str, Any]]], int],
                     confirm: Callable[[str], bool]) -> TrackerBinding:
    """Run the bind rules above; returns the persisted binding.

    ``choose(candidates)`` returns a 1-based number; ``confirm(question)`` a yes/no.
    Raises :class:`TrackerError` for an invalid ref (``TRACKER_BINDING_INVALID``), a
    selection out of range, no resources, or a declined replacement.
    """
    identity = project_identity(root)
    current = load_binding(root)
    if bind_ref:
        answer = client.bind_validate(provider, bind_ref, identity)
        if not answer.get("valid"):
            raise TrackerError(f"Binding {bind_ref} cannot be used: {answer.get('reason')}. "
                               f"{answer.get('guidance') or ''}".strip(),
                               "TRACKER_BINDING_INVALID",
                               details={"reason": answer.get("reason")})
        return _persist(root, provider, {**answer, "binding_ref": bind_ref})
    if select is not None:
        rows = discover(client, provider)
        if not 1 <= select <= len(rows):
            raise TrackerError(f"--select {select} is out of range (1-{len(rows)}); see "
                               f"`spec-kitty tracker discover --provider {provider}`.",
                               "TRACKER_SELECT_OUT_OF_RANGE")
        token = str(rows[select - 1]["candidate_token"])
        return _persist(root, provider, client.bind_confirm(provider, token, identity))
    if current.is_configured and not confirm("Replace existing binding? (y/N)"):
        raise TrackerError("The existing tracker binding was kept.", "TRACKER_BIND_DECLINED")
    resolved = client.bind_resolve(provider, identity)
    match = resolved.get("match_type")
    if match == "exact" and resolved.get("binding_ref"):
        return _persist(root, provider, resolved)
    if match == "exact" and resolved.get("candidate_token"):
        token = str(resolved["candidate_token"])
        return _persist(root, provider, client.bind_confirm(provider, token, identity))
    candidates = sorted(resolved.get("candidates") or [],
                        key=lambda c: int(c.get("sort_position", 0)))
    if not candidates:
        raise TrackerError(NO_RESOURCES.format(provider=provider), "TRACKER_NO_RESOURCES")
    number = choose(candidates)
    if not 1 <= number <= len(candidates):
        raise TrackerError(f"Select a resource between 1 and {len(candidates)}.",
                           "TRACKER_SELECT_OUT_OF_RANGE")
    token = str(candidates[number - 1]["candidate_token"])
    return _persist(root, provider, client.bind_confirm(provider, token, identity))
