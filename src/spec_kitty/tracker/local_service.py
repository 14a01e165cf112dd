"""Tracker operations for a local provider (beads, fp): cache, engine, consent, mappings.

Where the tool runs: ``command`` and ``cwd`` from ``[tracker.providers.<provider>]`` in
``<runtime root>/credentials`` (TOML) when present, else ``bd``/``fp`` in the project
root. Every sync first passes :func:`evaluate_egress`; a refusal raises before any
subprocess starts.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from spec_kitty.core.tracker.models import CanonicalIssue, ExternalRef
from spec_kitty.repo.config import load_config
from spec_kitty.tracker.config import TrackerBinding, config_path
from spec_kitty.tracker.consent import GUIDANCE, evaluate_egress
from spec_kitty.tracker.engine import SyncEngine, SyncResult
from spec_kitty.tracker.errors import (
    EgressRefused,
    HardBreakError,
    TrackerError,
    TrackerNotConfigured,
)
from spec_kitty.tracker.local.base import LocalConnector
from spec_kitty.tracker.local.beads import BeadsConnector
from spec_kitty.tracker.local.fp import FpConnector
from spec_kitty.tracker.projection import WorkPackageTicket, local_patch
from spec_kitty.tracker.store import TrackerStore, cache_path, runtime_root

PUBLISH_LOCAL = (
    "Snapshot publish is not supported for local providers. "
    "Use `spec-kitty tracker sync push` instead."
)


def tool_settings(provider: str) -> dict[str, str]:
    """``command``/``cwd`` for a local provider from the machine's credentials file."""
    import tomllib

    path = runtime_root() / "credentials"
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TrackerError(f"{path}: {exc}", "TRACKER_CREDENTIALS_INVALID") from None
    section = data.get("tracker", {}).get("providers", {}).get(provider, {})
    return {k: str(v) for k, v in section.items() if k in ("command", "cwd")}


class LocalTrackerService:
    def __init__(
        self, root: Path, binding: TrackerBinding, *, connector: LocalConnector | None = None
    ) -> None:
        if not binding.is_configured or binding.provider is None or binding.workspace is None:
            raise TrackerNotConfigured("--workspace is required for local providers.")
        self.root = root
        self.binding = binding
        self.provider = binding.provider
        self.workspace = binding.workspace
        self._connector = connector

    @property
    def db_path(self) -> Path:
        project = (
            load_config(config_path(self.root)).get("project")
            if config_path(self.root).exists()
            else None
        )
        uuid = (
            str(project.get("uuid"))
            if isinstance(project, dict) and project.get("uuid")
            else str(self.root)
        )
        return cache_path(self.provider, self.workspace, uuid)

    def connector(self) -> LocalConnector:
        if self._connector is None:
            settings = tool_settings(self.provider)
            cwd = Path(settings.get("cwd") or self.root)
            if self.provider == "beads":
                self._connector = BeadsConnector(
                    self.workspace, cwd, command=settings.get("command", "bd")
                )
            else:
                self._connector = FpConnector(
                    self.workspace, cwd, command=settings.get("command", "fp")
                )
        return self._connector

    @contextmanager
    def store(self) -> Iterator[TrackerStore]:
        store = TrackerStore(self.db_path)
        try:
            yield store
        finally:
            store.close()

    def _require_egress(self) -> None:
        verdict = evaluate_egress(self.root, self.binding)
        if not verdict.allowed:
            raise EgressRefused(
                f"Tracker sync refused: {verdict.reason}. {GUIDANCE}", verdict.channel
            )

    def _sync(self, action: str, limit: int) -> SyncResult:
        self._require_egress()
        with self.store() as store:
            engine = SyncEngine(self.connector(), store, self.binding.policy)
            result: SyncResult = getattr(engine, action)(limit)
            return result

    def pull(self, limit: int = 100) -> dict[str, Any]:
        return self._sync("pull", limit).to_json()

    def push(self, limit: int = 100) -> dict[str, Any]:
        return self._sync("push", limit).to_json()

    def run(self, limit: int = 100) -> dict[str, Any]:
        return self._sync("run", limit).to_json()

    def status(self) -> dict[str, Any]:
        exists = self.db_path.exists()
        counts = (0, 0)
        if exists:
            with self.store() as store:
                counts = (store.count_issues(), len(store.mappings()))
        return {
            "configured": True,
            "provider": self.provider,
            "workspace": self.workspace,
            "doctrine_mode": self.binding.doctrine_mode.value,
            "field_owners": {k: v.value for k, v in self.binding.field_owners.items()},
            "db_path": str(self.db_path),
            "issue_count": counts[0],
            "mapping_count": counts[1],
            "credentials_present": bool(tool_settings(self.provider)),
            "egress": evaluate_egress(self.root, self.binding).to_dict(),
        }

    def map_add(
        self,
        mission_slug: str,
        wp_id: str,
        external_id: str,
        *,
        external_key: str | None = None,
        external_url: str | None = None,
    ) -> dict[str, Any]:
        ref = ExternalRef(
            self.provider, self.workspace, external_id, external_key or external_id, external_url
        )
        with self.store() as store:
            try:
                mapping = store.add_mapping(mission_slug, wp_id, ref)
            except sqlite3.IntegrityError:
                raise TrackerError(
                    f"{external_id} is already mapped to another work package.",
                    "TRACKER_MAPPING_CONFLICT",
                    details={"external_id": external_id},
                ) from None
        return mapping.to_dict()

    def map_list(self, mission_slug: str | None = None) -> dict[str, Any]:
        with self.store() as store:
            return {
                "mappings": [m.to_dict() for m in store.mappings(mission_slug)],
                "pending_binding_upgrade": None,
            }

    def project(
        self, tickets: list[WorkPackageTicket], *, only_mapped: bool = False
    ) -> dict[str, Any]:
        """Create (and map) or update one issue per work package in the local tool."""
        self._require_egress()
        connector = self.connector()
        policy = self.binding.policy
        results: list[dict[str, Any]] = []
        with self.store() as store:
            mapped = {(m.mission_slug, m.wp_id): m for m in store.mappings()
                      if m.system == self.provider}
            for ticket in tickets:
                mapping = mapped.get((ticket.mission_slug, ticket.wp_id))
                if mapping is None and only_mapped:
                    continue
                try:
                    results.append(self._project_one(store, connector, policy, ticket, mapping))
                except TrackerError as exc:
                    results.append({"wp_id": ticket.wp_id, "outcome": "failed",
                                    "message": exc.message})
        failed = sum(1 for r in results if r["outcome"] == "failed")
        return {"status": "ok" if not failed else "partial", "items": results,
                "summary": {"total": len(results), "succeeded": len(results) - failed,
                            "failed": failed, "skipped": 0}}

    def _project_one(self, store: TrackerStore, connector: LocalConnector,
                     policy: Any, ticket: WorkPackageTicket, mapping: Any) -> dict[str, Any]:
        if mapping is None:
            draft = CanonicalIssue(ref=ExternalRef(self.provider, self.workspace, "new"),
                                   title=ticket.ticket_title, body=ticket.body,
                                   status=ticket.status, labels=ticket.labels)
            issue = connector.create_issue(draft)
            with store.transaction():
                store.upsert_issue(issue)
                store.add_mapping(ticket.mission_slug, ticket.wp_id, issue.ref)
            return {"wp_id": ticket.wp_id, "outcome": "created", "remote_ref": issue.ref.to_dict()}
        current = store.get_issue(f"{self.provider}:{mapping.workspace}:{mapping.external_id}")
        patch = local_patch(ticket, policy, connector.writable_fields,
                            current.labels if current else ())
        if not patch:
            return {"wp_id": ticket.wp_id, "outcome": "unchanged"}
        issue = connector.update_issue(mapping.external_id, patch)
        with store.transaction():
            store.upsert_issue(issue)
        return {"wp_id": ticket.wp_id, "outcome": "updated", "remote_ref": issue.ref.to_dict()}

    def publish(self) -> dict[str, Any]:
        raise HardBreakError(PUBLISH_LOCAL, "TRACKER_PUBLISH_UNSUPPORTED", provider=self.provider)
