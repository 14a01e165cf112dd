"""The served OpenAPI schema, fuzzed by schemathesis against the running hub.

Bounded run: a fixed number of generated requests per operation, on SQLite and
PostgreSQL. Every response must be a documented status with a body that matches its
schema, and nothing may answer 5xx.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from hub_fixtures import HubServer

pytestmark = pytest.mark.hub
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def test_the_schema_documents_the_cli_contract(hub_server: HubServer) -> None:
    document = hub_server.http.get("/openapi.json").json()
    paths = document["paths"]
    for path, method in [("/oauth/token", "post"), ("/oauth/device", "post"),
                         ("/oauth/revoke", "post"), ("/oauth/authorize", "get"),
                         ("/api/v1/me", "get"), ("/api/v1/session-status", "get"),
                         ("/api/v1/events/batch/", "post"), ("/api/v1/sync/health/", "get"),
                         ("/api/dossier/push-content/", "post"),
                         ("/api/v1/teams/{team}/projects", "get"),
                         ("/api/v1/teams/{team}/projects/{project_uuid}/missions", "get")]:
        assert method in paths[path], path
    token = paths["/oauth/token"]["post"]
    assert "application/x-www-form-urlencoded" in token["requestBody"]["content"]
    retry = token["responses"]["409"]["content"]["application/json"]["schema"]["$ref"]
    retry_schema = document["components"]["schemas"][retry.rsplit("/", 1)[1]]
    assert set(retry_schema["required"]) == {"error", "error_description", "retry_after"}
    me = document["components"]["schemas"]["MeOut"]
    assert set(me["required"]) == {"user_id", "email", "name", "teams"}
    batch = paths["/api/v1/events/batch/"]["post"]
    assert batch["requestBody"]["content"]["application/json"]["schema"]["required"] == [
        "events"]
    assert {"200", "400", "401", "403", "413", "429"} <= set(batch["responses"])
    mission = "/api/v1/teams/{team}/projects/{project_uuid}/missions/{mission_slug}"
    for leaf in ("board", "events", "documents"):
        assert "get" in paths[f"{mission}/{leaf}"], leaf


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_fuzzed_requests_get_documented_answers(hub_server: HubServer,
                                                mode: GenerationMode) -> None:
    """Every operation, anonymous and with a valid token, valid and invalid inputs."""
    user = hub_server.create_user()
    hub_server.create_team(owner=user.email)
    signed_in = hub_server.bearer(hub_server.login(user)["access_token"])
    schema = schemathesis.openapi.from_url(f"{hub_server.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    fuzzed = 0
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=20, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def fuzz(case: schemathesis.Case) -> None:
            case.call_and_validate(checks=CHECKS)
            case.call_and_validate(headers=signed_in, checks=CHECKS)

        try:
            fuzz()
            fuzzed += 1
        except Unsatisfiable:
            # An operation without inputs (GET /healthz) has no invalid request to make.
            assert mode is GenerationMode.NEGATIVE, operation.label
    assert fuzzed >= len(operations) - 2
