"""Hub provider connectors against the loopback doubles of GitHub, GitLab, Jira and Linear."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from spec_kitty.core.tracker.models import CanonicalStatus
from spec_kitty_hub.connectors import (
    AuthenticationFailed,
    IssueConnector,
    IssueDraft,
    IssuePatch,
    NetworkFailure,
    NotFound,
    ProviderUnavailable,
    RateLimited,
    RetryPolicy,
    UnsupportedTransition,
    build_connector,
)

from doubles.github import GitHubDouble
from doubles.gitlab import GitLabDouble
from doubles.jira import JiraDouble
from doubles.linear import LinearDouble


class Clock:
    """Records the waits the connector asks for instead of sleeping."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def _settings(double: Any) -> tuple[str, dict[str, Any]]:
    if isinstance(double, GitHubDouble):
        return "github", {"repo": double.repo, "token": double.token, "base_url": double.url}
    if isinstance(double, GitLabDouble):
        return "gitlab", {"project": double.project_path, "token": double.token, "base_url": double.url}
    if isinstance(double, JiraDouble):
        return "jira", {"site_url": double.url, "project_key": double.project_key,
                        "email": double.email, "api_token": double.api_token}
    return "linear", {"team_key": double.team["key"], "api_key": double.api_key, "base_url": double.url}


def _connect(double: Any, clock: Clock, **overrides: Any) -> IssueConnector:
    provider, settings = _settings(double)
    settings.update(overrides)
    return build_connector(provider, settings, sleep=clock.sleep, jitter=lambda: 0.0,
                           policy=RetryPolicy(max_attempts=3, max_wait=30))


@pytest.fixture(params=["github", "gitlab", "jira", "linear"])
def provider_double(request: pytest.FixtureRequest) -> Iterator[Any]:
    double = {"github": GitHubDouble, "gitlab": GitLabDouble, "jira": JiraDouble, "linear": LinearDouble}[
        request.param]()
    with double:
        yield double


def _seed(double: Any, title: str, **kw: Any) -> None:
    if isinstance(double, GitLabDouble | JiraDouble):
        kw = {("description" if k == "body" else k): v for k, v in kw.items()}
    if isinstance(double, LinearDouble):
        kw = {("description" if k == "body" else k): v for k, v in kw.items()}
    if isinstance(double, JiraDouble):
        double.seed(title, **kw)
    else:
        double.seed(title, **kw)


def _count_creates(double: Any) -> int:
    if isinstance(double, LinearDouble):
        return sum(1 for r in double.requests if b"issueCreate" in r.body)
    path = {"github": r"/issues$", "gitlab": r"/issues$", "jira": r"/rest/api/3/issue$"}[double.name]
    return len(double.requests_to("POST", path))


def test_create_get_update_transition_round_trip(provider_double: Any) -> None:
    clock = Clock()
    connector = _connect(provider_double, clock)
    created = connector.create_issue(IssueDraft(title="WP01 Set up", body="First line\n\nSecond", labels=("mission:demo",)))
    assert created.title == "WP01 Set up" and created.status is CanonicalStatus.TODO
    assert created.body == "First line\n\nSecond"
    assert created.labels == ("mission:demo",)
    fetched = connector.get_issue(created.ref.id)
    assert fetched.ref == created.ref and fetched.ref.key

    updated = connector.update_issue(created.ref.id, IssuePatch(title="WP01 Set up the repo", add_labels=("lane:doing",)))
    assert updated.title == "WP01 Set up the repo"
    assert set(updated.labels) == {"mission:demo", "lane:doing"}
    updated = connector.update_issue(created.ref.id, IssuePatch(remove_labels=("lane:doing",), body="New body"))
    assert updated.labels == ("mission:demo",) and updated.body == "New body"

    for status in (CanonicalStatus.IN_PROGRESS, CanonicalStatus.IN_REVIEW, CanonicalStatus.BLOCKED,
                   CanonicalStatus.DONE, CanonicalStatus.CANCELED, CanonicalStatus.TODO):
        moved = connector.transition(created.ref.id, status)
        # Linear's default workflow has no "Blocked" state: blocked degrades to started.
        lossy = provider_double.name == "linear" and status is CanonicalStatus.BLOCKED
        expected = CanonicalStatus.IN_PROGRESS if lossy else status
        assert moved.status is expected, (provider_double.name, status)
        assert connector.get_issue(created.ref.id).status is expected
        assert moved.labels == ("mission:demo",)  # status labels never leak into labels
    assert clock.sleeps == []
    connector.close()


def test_list_follows_pagination_and_filters_by_update(provider_double: Any) -> None:
    for n in range(7):
        _seed(provider_double, f"issue {n}")
    connector = _connect(provider_double, Clock())
    issues = list(connector.list_issues(page_size=3))
    assert sorted(i.title for i in issues) == [f"issue {n}" for n in range(7)]
    assert len({i.ref.identity for i in issues}) == 7
    assert list(connector.list_issues(page_size=2, limit=3)).__len__() == 3
    future = datetime.now(UTC) + timedelta(days=2)
    assert list(connector.list_issues(updated_since=future)) == []


def test_search_by_key_and_by_text(provider_double: Any) -> None:
    connector = _connect(provider_double, Clock())
    first = connector.create_issue(IssueDraft(title="Payment retries", body="about the gateway"))
    connector.create_issue(IssueDraft(title="Unrelated"))
    assert [i.ref.id for i in connector.search_issues(first.ref.key or "")] == [first.ref.id]
    assert [i.title for i in connector.search_issues("payment")] == ["Payment retries"]
    assert connector.search_issues("gateway")[0].ref.id == first.ref.id


def test_rate_limit_is_honoured_once_then_the_call_succeeds(provider_double: Any) -> None:
    clock = Clock()
    connector = _connect(provider_double, clock)
    provider_double.faults.rate_limit_once(when=_is_create(provider_double), retry_after=2, reset_ms=2000)
    created = connector.create_issue(IssueDraft(title="after the limit"))
    assert created.title == "after the limit"
    assert len(clock.sleeps) == 1 and 0 < clock.sleeps[0] <= 2.5
    assert _count_creates(provider_double) == 2  # the refused attempt, then the real one
    assert [i.title for i in connector.list_issues()] == ["after the limit"]


def test_rate_limit_longer_than_max_wait_is_a_typed_error(provider_double: Any) -> None:
    connector = _connect(provider_double, Clock())
    provider_double.faults.rate_limit_once(retry_after=600, reset_ms=600_000, kind="primary", reset_in=600)
    with pytest.raises(RateLimited) as err:
        connector.search_issues("anything")
    assert err.value.retry_after > 30 and err.value.retryable


def test_server_errors_are_retried_with_backoff_for_reads(provider_double: Any) -> None:
    _seed(provider_double, "steady")
    clock = Clock()
    connector = _connect(provider_double, clock)
    provider_double.faults.fail_next(502, count=2)
    assert [i.title for i in connector.list_issues()] == ["steady"]
    assert clock.sleeps == [0.25, 0.5]  # 0.5 s doubling, jitter pinned to its floor
    provider_double.faults.fail_next(503, count=3)
    with pytest.raises(ProviderUnavailable):
        list(connector.list_issues())


def _is_create(double: Any) -> Callable[[Any], bool]:
    if isinstance(double, LinearDouble):
        return lambda r: b"issueCreate" in r.body
    suffix = "/rest/api/3/issue" if isinstance(double, JiraDouble) else "/issues"
    return lambda r: r.method == "POST" and r.path.endswith(suffix)


def test_network_cut_on_create_is_effect_unknown_and_a_keyed_retry_makes_no_duplicate(provider_double: Any) -> None:
    connector = _connect(provider_double, Clock())
    draft = IssueDraft(title="WP02 Exactly once", body="body", idempotency_key="proj:m1:WP02")
    # The double creates the issue, then drops the connection instead of answering.
    provider_double.faults.cut_after_handling(when=_is_create(provider_double))
    with pytest.raises(NetworkFailure) as err:
        connector.create_issue(draft)
    assert err.value.effect_unknown is True
    assert _count_creates(provider_double) == 1
    again = connector.create_issue(draft)
    assert again.title == "WP02 Exactly once" and again.body == "body"
    assert _count_creates(provider_double) == 1
    titles = [i.title for i in connector.list_issues()]
    assert titles == ["WP02 Exactly once"]


def test_connection_reset_on_a_read_is_retried(provider_double: Any) -> None:
    _seed(provider_double, "still there")
    clock = Clock()
    connector = _connect(provider_double, clock)
    provider_double.faults.cut_next()
    assert [i.title for i in connector.list_issues()] == ["still there"]
    assert len(clock.sleeps) == 1


def test_bad_token_is_an_authentication_error(provider_double: Any) -> None:
    provider, _ = _settings(provider_double)
    secret = {"github": "token", "gitlab": "token", "jira": "api_token", "linear": "api_key"}[provider]
    connector = _connect(provider_double, Clock(), **{secret: "wrong"})
    with pytest.raises(AuthenticationFailed):
        list(connector.list_issues())


def test_missing_issue_is_not_found(provider_double: Any) -> None:
    connector = _connect(provider_double, Clock())
    with pytest.raises(NotFound):
        connector.get_issue({"github": "999", "gitlab": "999", "jira": "KAN-999", "linear": "ENG-999"}[
            provider_double.name])


def test_github_skips_pull_requests_and_maps_close_reasons(github_double: GitHubDouble) -> None:
    github_double.seed("a PR", pull_request=True)
    github_double.seed("done one", state="closed")
    connector = _connect(github_double, Clock())
    issues = list(connector.list_issues())
    assert [(i.title, i.status) for i in issues] == [("done one", CanonicalStatus.DONE)]
    issue = connector.transition(issues[0].ref.id, CanonicalStatus.CANCELED)
    assert github_double.issues[2]["state_reason"] == "not_planned" and issue.status is CanonicalStatus.CANCELED
    github_double.faults.rate_limit_once(kind="secondary", status=403)  # no retry-after: wait a minute
    clock = Clock()
    connector = _connect(github_double, clock, )
    connector.http.policy = RetryPolicy(max_wait=120)
    connector.get_issue("2")
    assert clock.sleeps == [60.0]


def test_github_primary_limit_waits_until_reset_header(github_double: GitHubDouble) -> None:
    clock = Clock()
    connector = _connect(github_double, clock)
    github_double.faults.rate_limit_once(kind="primary", status=429, reset_in=3)
    connector.search_issues("x")
    assert len(clock.sleeps) == 1 and 1 < clock.sleeps[0] <= 3.5


def test_gitlab_uses_state_events_and_scoped_status_labels(gitlab_double: GitLabDouble) -> None:
    connector = _connect(gitlab_double, Clock())
    issue = connector.create_issue(IssueDraft(title="scoped", labels=("team::a",)))
    connector.transition(issue.ref.id, CanonicalStatus.IN_REVIEW)
    assert gitlab_double.issues[1]["labels"] == ["status::in-review", "team::a"]
    connector.transition(issue.ref.id, CanonicalStatus.CANCELED)
    raw = gitlab_double.issues[1]
    assert raw["state"] == "closed" and raw["labels"] == ["status::canceled", "team::a"]
    puts = gitlab_double.requests_to("PUT", r"/issues/1$")
    assert puts[-1].json()["state_event"] == "close"
    assert gitlab_double.requests[0].headers["private-token"] == gitlab_double.token


def test_jira_uses_enhanced_search_adf_and_offered_transitions(jira_double: JiraDouble) -> None:
    connector = _connect(jira_double, Clock())
    issue = connector.create_issue(IssueDraft(title="adf", body="line one\nline two\n\npara two"))
    raw = jira_double.issues[issue.ref.key or ""]
    assert raw["fields"]["description"]["type"] == "doc"
    assert issue.body == "line one\nline two\n\npara two"
    assert [i.key for i in (x.ref for x in connector.list_issues())] == [issue.ref.key]
    searches = jira_double.requests_to("POST", r"/rest/api/3/search/jql$")
    assert searches and all("fields" in r.json() for r in searches)
    jira_double.workflow["10000"] = ["3"]  # from To Do only "In Progress" is offered
    with pytest.raises(UnsupportedTransition, match="In Progress"):
        connector.transition(issue.ref.id, CanonicalStatus.DONE)
    assert connector.transition(issue.ref.id, CanonicalStatus.IN_PROGRESS).status is CanonicalStatus.IN_PROGRESS


def test_linear_rate_limit_is_a_400_with_ratelimited_code(linear_double: LinearDouble) -> None:
    clock = Clock()
    connector = _connect(linear_double, clock)
    linear_double.faults.rate_limit_once(reset_ms=1500)
    assert list(connector.list_issues()) == []
    assert len(clock.sleeps) == 1 and 0.5 < clock.sleeps[0] <= 1.6
    assert linear_double.requests[0].headers["authorization"] == linear_double.api_key


def test_build_connector_validates_settings() -> None:
    with pytest.raises(ValueError, match="unknown provider 'azure_devops'"):
        build_connector("azure_devops", {})
    with pytest.raises(ValueError, match="missing token"):
        build_connector("github", {"repo": "a/b"})
    with pytest.raises(ValueError, match="owner/name"):
        build_connector("github", {"repo": "nope", "token": "t"})


def test_spent_budget_is_respected_before_sending(github_double: GitHubDouble) -> None:
    connector = _connect(github_double, Clock())
    github_double.remaining = 1  # the next answer reports 0 left, resetting in an hour
    connector.get_issue("1") if github_double.issues else list(connector.list_issues())
    sent = len(github_double.requests)
    with pytest.raises(RateLimited) as err:
        list(connector.list_issues())
    assert err.value.retry_after > 3000 and len(github_double.requests) == sent


def test_unreachable_provider_is_a_network_failure_after_retries() -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    clock = Clock()
    connector = build_connector("gitlab", {"project": "g/d", "token": "t", "base_url": f"http://127.0.0.1:{port}"},
                                sleep=clock.sleep, jitter=lambda: 0.0, policy=RetryPolicy(max_attempts=3))
    with pytest.raises(NetworkFailure) as err:
        connector.get_issue("1")
    assert err.value.effect_unknown is False and len(clock.sleeps) == 2


def test_linear_errors_and_label_replacement(linear_double: LinearDouble) -> None:
    from spec_kitty_hub.connectors import InvalidRequest

    connector = _connect(linear_double, Clock())
    issue = connector.create_issue(IssueDraft(title="labels", labels=("a", "b"), priority=2))
    replaced = connector.update_issue(issue.ref.id, IssuePatch(labels=("c",), priority=4))
    assert replaced.labels == ("c",) and replaced.priority == 4
    assert connector.search_issues("ENG-404") == []
    with pytest.raises(InvalidRequest):
        connector.update_issue(issue.ref.id, IssuePatch(priority=9))
    with pytest.raises(InvalidRequest, match="Cannot query field"):
        connector._gql("{ issues { nodes { nonsense } } }")
