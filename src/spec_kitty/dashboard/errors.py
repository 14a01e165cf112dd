"""Errors the dashboard raises; the CLI renders them like every other SpecKittyError."""

from __future__ import annotations

from pathlib import Path

from spec_kitty.core.errors import SpecKittyError

PORT_RANGE = range(9237, 9337)


class DashboardStartFailed(SpecKittyError):
    def __init__(self, reason: str, log_file: Path, log_tail: str) -> None:
        super().__init__(
            f"The dashboard did not start: {reason}",
            "DASHBOARD_START_FAILED",
            details={"log_file": str(log_file), "log_tail": log_tail},
            hint=f"See {log_file} for the server's output.",
        )


class NoFreePort(SpecKittyError):
    def __init__(self, requested: int | None) -> None:
        first, last = PORT_RANGE[0], PORT_RANGE[-1]
        asked = f"port {requested} and " if requested is not None else ""
        super().__init__(
            f"No free port: {asked}every port in {first}-{last} on 127.0.0.1 is in use.",
            "DASHBOARD_NO_FREE_PORT",
            details={"requested_port": requested, "range": [first, last]},
            hint="Stop another dashboard with `spec-kitty dashboard --kill`, or pass --port.",
        )


class ProjectDirInvalid(SpecKittyError):
    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(
            f"--project {path}: {problem}",
            "DASHBOARD_PROJECT_INVALID",
            details={"project": str(path)},
            hint="Pass the root of a spec-kitty project (a directory holding .kittify/).",
        )


class UnknownProjectKey(SpecKittyError):
    def __init__(self, key: str, known: list[str]) -> None:
        super().__init__(
            f"No served project is called {key!r}. Projects: {', '.join(known)}",
            "DASHBOARD_PROJECT_NOT_FOUND",
            details={"project": key, "available": known},
        )


class ArtifactNotFound(SpecKittyError):
    def __init__(self, mission: str, name: str, available: list[str]) -> None:
        super().__init__(
            f"Mission {mission} has no artifact {name!r}. Available: "
            f"{', '.join(available) or 'none'}",
            "ARTIFACT_NOT_FOUND",
            details={"mission": mission, "artifact": name, "available": available},
        )


class ArtifactUnreadable(SpecKittyError):
    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"Cannot show {path}: {problem}", "ARTIFACT_UNREADABLE",
                         details={"file": str(path)})
