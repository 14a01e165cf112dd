"""Local trackers (beads, fp) end to end through the stand-in executables on PATH."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from spec_kitty.core.tracker.models import CanonicalIssue, CanonicalStatus
from spec_kitty.tracker.config import TrackerBinding, load_binding, save_binding
from spec_kitty.tracker.errors import EgressRefused, HardBreakError, LocalToolError, TrackerError
from spec_kitty.tracker.local_service import LocalTrackerService
from spec_kitty.tracker.service import TrackerService
from spec_kitty.tracker.store import TrackerStore

from doubles.fixtures import StandIn

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / ".kittify").mkdir(parents=True)
    (root / ".kittify" / "config.yaml").write_text("project:\n  uuid: 7f0c-demo\nvcs:\n  type: git\n")
    return root


def bind(project: Path, provider: str = "beads", mode: str | None = None,
         owners: dict[str, str] | None = None, egress: str | None = "permitted") -> TrackerService:
    service = TrackerService(project)
    service.bind_local(provider, "demo", doctrine_mode=mode, field_owners=owners)
    if egress:
        save_binding(project, load_binding(project).with_changes(egress=egress))
    return service


def bd(standin: StandIn, project: Path, *args: str, now: datetime | None = None) -> dict[str, Any]:
    import subprocess

    env = dict(os.environ)
    if now is not None:
        env["BD_STANDIN_NOW"] = stamp(now)
    out = subprocess.run(["bd", "--json", *args], cwd=project, capture_output=True, text=True, env=env,
                         check=True).stdout
    return json.loads(out)


def cached(service: TrackerService) -> list[CanonicalIssue]:
    backend = service.backend()
    assert isinstance(backend, LocalTrackerService)
    with backend.store() as store:
        return store.issues("beads", "demo")


def edit_cache(service: TrackerService, identity: str, at: datetime, **fields: Any) -> None:
    backend = service.backend()
    assert isinstance(backend, LocalTrackerService)
    with backend.store() as store:
        issue = store.get_issue(identity)
        assert issue is not None
        store.upsert_issue(issue.with_fields(updated_at=at, **fields))


def test_bind_beads_and_pull_everything(project: Path, bd_on_path: StandIn) -> None:
    bd(bd_on_path, project, "create", "Set up CI", "--type", "feature", "-p", "1", "--labels", "infra,ci")
    bd(bd_on_path, project, "create", "Write docs", "--description", "all of them")
    bd(bd_on_path, project, "close", "bd-2")
    service = bind(project)
    result = service.pull()
    assert result["stats"] == {"pulled_created": 2, "pulled_updated": 0, "pushed_created": 0,
                               "pushed_updated": 0, "skipped": 0}
    issues = {i.ref.id: i for i in cached(service)}
    assert issues["bd-1"].issue_type.value == "story" and issues["bd-1"].priority == 2
    assert issues["bd-1"].labels == ("ci", "infra")
    assert issues["bd-2"].status is CanonicalStatus.DONE and issues["bd-2"].body == "all of them"
    status = service.status()
    assert (status["provider"], status["issue_count"], status["doctrine_mode"]) == (
        "beads", 2, "external_authoritative")
    assert Path(status["db_path"]).is_relative_to(Path(os.environ["SPEC_KITTY_HOME"]) / "trackers")
    # bd was run as argv with --json, never through a shell; the checkpoint makes the next pull incremental.
    assert bd_on_path.calls(project)[-1][:3] == ["--json", "list", "--all"]
    again = service.pull()
    assert again["stats"]["pulled_created"] == 0
    assert "--updated-after" in bd_on_path.calls(project)[-1]


def test_pull_with_unknown_vocabulary_completes_and_reports_what_it_skipped(
        project: Path, bd_on_path: StandIn, caplog: pytest.LogCaptureFixture) -> None:
    base = {"priority": 2, "labels": [], "created_at": stamp(T0), "updated_at": stamp(T0), "description": ""}
    bd_on_path.seed(project, id="bd-1", title="fine", status="open", issue_type="task", **base)
    bd_on_path.seed(project, id="bd-2", title="new status", status="quarantined", issue_type="task", **base)
    bd_on_path.seed(project, id="bd-3", title="infra bead", status="open", issue_type="molecule", **base)
    bd_on_path.seed(project, id="bd-4", title="hooked one", status="hooked", issue_type="spike", **base)
    service = bind(project)
    with caplog.at_level("WARNING", logger="spec_kitty.tracker"):
        result = service.pull()
    assert result["stats"]["pulled_created"] == 2 and result["stats"]["skipped"] == 2
    assert result["skipped"] == [
        {"id": "bd-2", "reason": "unknown status", "value": "quarantined"},
        {"id": "bd-3", "reason": "unknown type", "value": "molecule"},
    ]
    assert sorted(i.ref.id for i in cached(service)) == ["bd-1", "bd-4"]
    assert "bd-2" in caplog.text and "quarantined" in caplog.text


def _diverge(project: Path, bd_on_path: StandIn, service: TrackerService, *, local_newer: bool) -> str:
    bd(bd_on_path, project, "create", "Original", now=T0)
    service.pull()
    identity = "beads:demo:bd-1"
    remote_at, local_at = (T0 + timedelta(hours=1), T0 + timedelta(hours=2))
    if not local_newer:
        remote_at, local_at = local_at, remote_at
    edit_cache(service, identity, local_at, title="Ours", status=CanonicalStatus.IN_REVIEW)
    bd(bd_on_path, project, "update", "bd-1", "--title", "Theirs", "--status", "blocked", now=remote_at)
    return identity


def test_external_authoritative_takes_theirs_and_pushes_nothing(project: Path, bd_on_path: StandIn) -> None:
    service = bind(project)
    _diverge(project, bd_on_path, service, local_newer=True)
    pulled = service.pull()
    assert pulled["conflicts"] == [] and pulled["stats"]["pulled_updated"] == 1
    (issue,) = cached(service)
    assert (issue.title, issue.status) == ("Theirs", CanonicalStatus.BLOCKED)
    pushed = service.push()
    assert pushed["stats"]["pushed_updated"] == 0 and pushed["stats"]["skipped"] == 1
    assert bd(bd_on_path, project, "show", "bd-1")["title"] == "Theirs"


def test_spec_kitty_authoritative_keeps_ours_and_pushes_it(project: Path, bd_on_path: StandIn) -> None:
    service = bind(project, mode="spec_kitty_authoritative")
    _diverge(project, bd_on_path, service, local_newer=False)
    pulled = service.pull()
    assert pulled["conflicts"] == []
    (issue,) = cached(service)
    assert issue.title == "Ours"
    pushed = service.push()
    assert pushed["stats"]["pushed_updated"] == 1
    remote = bd(bd_on_path, project, "show", "bd-1")
    assert (remote["title"], remote["status"]) == ("Ours", "in_progress")  # in_review is in_progress in beads
    assert service.push()["stats"]["pushed_updated"] == 0  # nothing left to send


@pytest.mark.parametrize("local_newer", [True, False])
def test_split_ownership_resolves_shared_fields_by_newer_timestamp(
        project: Path, bd_on_path: StandIn, local_newer: bool) -> None:
    service = bind(project, mode="split_ownership", owners={"status": "external"})
    identity = _diverge(project, bd_on_path, service, local_newer=local_newer)
    result = service.run()
    winner = "Ours" if local_newer else "Theirs"
    assert result["conflicts"] == [{"identity": identity, "field_name": "title", "strategy": "newer_timestamp",
                                    "manual_review_required": False, "resolved_value": winner}]
    (issue,) = cached(service)
    assert issue.title == winner and issue.status is CanonicalStatus.BLOCKED  # status is theirs, silently
    assert bd(bd_on_path, project, "show", "bd-1")["title"] == winner
    assert result["stats"]["pushed_updated"] == (1 if local_newer else 0)
    backend = service.backend()
    assert isinstance(backend, LocalTrackerService)
    with backend.store() as store:
        (record,) = store.conflicts()
    assert (record["local_value"], record["external_value"], record["resolved_value"]) == (
        "Ours", "Theirs", winner)


def test_run_creates_local_drafts_when_we_own_titles(project: Path, bd_on_path: StandIn) -> None:
    service = bind(project, mode="spec_kitty_authoritative")
    backend = service.backend()
    assert isinstance(backend, LocalTrackerService)
    with backend.store() as store:
        draft = store.add_local_draft("beads", "demo", "WP01 $(touch pwned); `echo` | tee", labels=("wp",))
        store.add_mapping("mission-a", "WP01", draft.ref)
    result = service.run()
    assert result["stats"]["pushed_created"] == 1
    remote = bd(bd_on_path, project, "show", "bd-1")
    assert remote["title"] == "WP01 $(touch pwned); `echo` | tee" and remote["labels"] == ["wp"]
    assert not (project / "pwned").exists()
    assert [i.ref.id for i in cached(service)] == ["bd-1"]
    assert service.map_list()["mappings"][0]["external_id"] == "bd-1"
    external = bind(project, mode="external_authoritative")  # drafts are then never created
    with backend.store() as store:
        store.add_local_draft("beads", "demo", "not created")
    assert external.push()["stats"]["pushed_created"] == 0


def test_mappings_are_keyed_by_mission_and_work_package(project: Path, bd_on_path: StandIn) -> None:
    service = bind(project)
    service.map_add("mission-a", "WP01", "bd-1")
    service.map_add("mission-b", "WP01", "bd-2", external_key="bd-2", external_url=None)
    service.map_add("mission-a", "WP01", "bd-3")  # re-mapping replaces
    listed = service.map_list()["mappings"]
    assert [(m["mission_slug"], m["wp_id"], m["external_id"]) for m in listed] == [
        ("mission-a", "WP01", "bd-3"), ("mission-b", "WP01", "bd-2")]
    with pytest.raises(TrackerError) as err:
        service.map_add("mission-c", "WP02", "bd-2")
    assert err.value.code == "TRACKER_MAPPING_CONFLICT"
    assert service.status()["mapping_count"] == 2


def test_consent_is_checked_before_any_subprocess(project: Path, bd_on_path: StandIn) -> None:
    service = bind(project, egress=None)
    with pytest.raises(EgressRefused) as err:
        service.pull()
    assert err.value.details["channel"] == "none"
    assert bd_on_path.calls(project) == []
    save_binding(project, load_binding(project).with_changes(egress="maybe"))
    with pytest.raises(EgressRefused, match="expected permitted or refused"):
        service.run()
    save_binding(project, load_binding(project).with_changes(egress=None))
    config = project / ".kittify" / "config.yaml"
    config.write_text(config.read_text() + "sync:\n  enabled: true\n")
    assert service.pull()["stats"]["pulled_created"] == 0
    save_binding(project, load_binding(project).with_changes(egress="refused"))
    with pytest.raises(EgressRefused, match="refused"):
        service.push()
    assert len(bd_on_path.calls(project)) == 1


def test_tool_failures_are_clear_errors(project: Path, bd_on_path: StandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    service = bind(project)
    bd_on_path.inject(project, "list", "garbage")
    with pytest.raises(LocalToolError, match="not JSON"):
        service.pull()
    bd_on_path.inject(project, "list", "fail")
    with pytest.raises(LocalToolError, match="database is locked"):
        service.pull()
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(LocalToolError) as err:
        service.pull()
    assert err.value.code == "TRACKER_LOCAL_TOOL_MISSING"


def test_fp_pull_and_push_status_only(project: Path, fp_on_path: StandIn) -> None:
    import subprocess

    def fp(*args: str) -> str:
        return subprocess.run(["fp", *args], cwd=project, capture_output=True, text=True, check=True).stdout

    fp("issue", "create", "--title", "Plan", "--priority", "high")
    fp("issue", "create", "--title", "Child task", "--parent", "FP-1", "--description", "details")
    fp("issue", "update", "--status", "in-progress", "FP-2")
    service = bind(project, provider="fp", mode="spec_kitty_authoritative")
    assert service.pull()["stats"]["pulled_created"] == 2
    backend = service.backend()
    assert isinstance(backend, LocalTrackerService)
    with backend.store() as store:
        child = store.get_issue("fp:demo:FP-2")
        assert child is not None
        assert (child.status, child.parent, child.body) == (CanonicalStatus.IN_PROGRESS, "FP-1", "details")
        store.upsert_issue(child.with_fields(status=CanonicalStatus.DONE, title="Renamed",
                                             updated_at=datetime.now(UTC) + timedelta(minutes=1)))
    result = service.push()
    assert result["stats"]["pushed_updated"] == 1
    listing = fp("issue", "list")
    assert "FP-2 [done] Child task" in listing  # status pushed, title is not writable in fp
    assert ["issue", "update", "--status", "done", "FP-2"] in fp_on_path.calls(project)


def test_publish_is_a_hard_break_for_local_providers(project: Path, bd_on_path: StandIn) -> None:
    service = bind(project)
    with pytest.raises(HardBreakError) as err:
        service.publish()
    assert err.value.message == (
        "Snapshot publish is not supported for local providers. Use `spec-kitty tracker sync push` instead.")


def test_bind_local_requires_a_workspace(project: Path) -> None:
    with pytest.raises(TrackerError, match="--workspace is required for local providers."):
        TrackerService(project).bind_local("beads", " ")
    save_binding(project, TrackerBinding(provider="beads"))
    with pytest.raises(TrackerError, match="--workspace is required"):
        TrackerService(project).pull()


def test_store_survives_kill_9_mid_write(tmp_path: Path) -> None:
    """Batches commit whole: after SIGKILL the cache holds N full batches, never a part."""
    import signal
    import subprocess
    import sys
    import time

    db = tmp_path / "cache.db"
    script = f"""
import sys
from datetime import UTC, datetime
sys.path.insert(0, {str(Path(__file__).parent)!r})
from spec_kitty.core.tracker.models import CanonicalIssue, ExternalRef
from spec_kitty.tracker.store import TrackerStore
store = TrackerStore(__import__("pathlib").Path({str(db)!r}))
batch = 0
print("ready", flush=True)
while True:
    batch += 1
    with store.transaction():
        for n in range(50):
            store.upsert_issue(CanonicalIssue(ExternalRef("beads", "demo", f"b{{batch}}-{{n}}"), title="x" * 200))
        store.set_checkpoint("beads:demo", None, str(batch))
"""
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until some batches are durable, however slow the disk
        probe = TrackerStore(db)
        done = probe.checkpoint("beads:demo")[1]
        probe.close()
        if done and int(done) >= 3:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    store = TrackerStore(db)
    batches = int(store.checkpoint("beads:demo")[1] or 0)
    assert batches >= 3
    assert store.count_issues() == 50 * batches
    assert store._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_fp_creates_drafts_and_skips_unknown_status(project: Path, fp_on_path: StandIn) -> None:
    fp_on_path.seed(project, id="FP-7", title="odd", status="waiting", priority=None, description="",
                    parent=None, depends=[], created_at=stamp(T0), updated_at=stamp(T0), comments=[])
    service = bind(project, provider="fp", mode="spec_kitty_authoritative")
    backend = service.backend()
    assert isinstance(backend, LocalTrackerService)
    with backend.store() as store:
        store.add_local_draft("fp", "demo", "Ship it", body="notes", priority=1, status=CanonicalStatus.DONE)
    result = service.run()
    assert result["skipped"] == [{"id": "FP-7", "reason": "unknown status", "value": "waiting"}]
    assert result["stats"]["pushed_created"] == 1
    (created,) = [i for i in fp_on_path.load(project)["issues"].values() if i["title"] == "Ship it"]
    assert (created["title"], created["status"], created["priority"]) == ("Ship it", "done", "critical")


def test_retryable_tool_errors_are_retried_then_reported(project: Path) -> None:
    from spec_kitty.tracker.engine import SyncEngine
    from spec_kitty.tracker.local.runner import run_tool

    with pytest.raises(LocalToolError) as err:
        run_tool(["sleep", "5"], project, timeout=0.2)
    assert err.value.code == "TRACKER_LOCAL_TOOL_TIMEOUT" and err.value.retryable

    class Flaky:
        system, workspace = "beads", "demo"
        writable_fields = frozenset({"title"})

        def __init__(self) -> None:
            self.attempts = 0
            self.remote = CanonicalIssue(ExternalRef("beads", "demo", "bd-1"), title="Theirs", updated_at=T0)

        def list_issues(self, updated_since: Any = None) -> Any:
            return [self.remote], []

        def update_issue(self, issue_id: str, patch: dict[str, Any]) -> CanonicalIssue:
            self.attempts += 1
            if self.attempts < 3:
                raise LocalToolError("busy", retryable=True)
            return self.remote.with_fields(**patch)

        def create_issue(self, issue: CanonicalIssue) -> CanonicalIssue:
            raise LocalToolError("no creates here")

        def same_on_provider(self, field: str, ours: Any, theirs: Any) -> bool:
            return bool(ours == theirs)

    from spec_kitty.core.tracker.merge import OwnershipMode, OwnershipPolicy
    from spec_kitty.core.tracker.models import ExternalRef

    store = TrackerStore(project / "c.db")
    flaky = Flaky()
    store.upsert_issue(flaky.remote.with_fields(title="Ours"))
    engine = SyncEngine(flaky, store, OwnershipPolicy(OwnershipMode.SPEC_KITTY_AUTHORITATIVE))
    assert engine.push().stats.pushed_updated == 1 and flaky.attempts == 3
    store.upsert_issue(flaky.remote.with_fields(title="Again"))
    flaky.attempts = -5  # more failures than retries: reported, not raised
    result = engine.push()
    assert result.errors == ["beads:demo:bd-1: busy"] and result.stats.pushed_updated == 0
