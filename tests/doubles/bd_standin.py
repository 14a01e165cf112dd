"""A stand-in for the beads CLI ``bd``, for tests (run as ``bd`` through a PATH wrapper).

Follows the beads documentation (github.com/gastownhall/beads, formerly
steveyegge/beads): ``docs/JSON_SCHEMA.md`` (``--json`` output: list commands print
``{"schema_version": 1, "items": [...]}``, object commands print the issue with
``schema_version``; errors go to stderr as ``{"schema_version", "error", "code"}``
with a non-zero exit) and ``docs/cli-reference/{list,show,create,update,close}.md``
(``list`` hides closed issues unless ``--all``/``--status``, limit 50 by default and
0 for unlimited, ``--updated-after`` takes a date or RFC3339; ``create TITLE --type
--priority --description --parent --labels``; ``update ID --status --priority
--title --description --type --set-labels --add-label --remove-label``). Statuses:
open, in_progress, blocked, deferred, closed, pinned, hooked; types: bug, feature,
task, epic, chore, decision, spike, story, milestone (plus infrastructure types that
only appear in stores, e.g. message, molecule).

State lives in ``.beads/standin.json`` under the working directory; every call is
appended to ``.beads/standin-calls.jsonl``; ``.beads/standin-faults.json`` (a list of
``{"command": ..., "kind": "fail" | "garbage"}``) makes matching calls misbehave once.
``BD_STANDIN_NOW`` pins the clock (RFC3339).
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

STATUSES = ("open", "in_progress", "blocked", "deferred", "closed", "pinned", "hooked")
TYPES = ("bug", "feature", "task", "epic", "chore", "decision", "spike", "story", "milestone")
VALUE_FLAGS = {
    "--status", "-s", "--priority", "-p", "--type", "-t", "--title", "--description", "-d",
    "--parent", "--labels", "-l", "--limit", "-n", "--updated-after", "--title-contains",
    "--assignee", "-a", "--set-labels", "--add-label", "--remove-label", "--reason", "-r", "--sort",
}


def now() -> str:
    return os.environ.get("BD_STANDIN_NOW") or datetime.now(UTC).isoformat(timespec="microseconds").replace(
        "+00:00", "Z")


class Failure(Exception):
    def __init__(self, message: str, code: str = "invalid_argument") -> None:
        super().__init__(message)
        self.code = code


def parse(argv: list[str]) -> tuple[bool, list[str], dict[str, list[str]], set[str]]:
    as_json, positional, options, switches = False, [], {}, set()
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--json":
            as_json = True
        elif arg.startswith("--") and "=" in arg:
            key, value = arg.split("=", 1)
            options.setdefault(key, []).append(value)
        elif arg in VALUE_FLAGS:
            if i + 1 >= len(argv):
                raise Failure(f"flag needs an argument: {arg}")
            options.setdefault(arg, []).append(argv[i + 1])
            i += 1
        elif arg.startswith("-") and arg != "-":
            switches.add(arg)
        else:
            positional.append(arg)
        i += 1
    return as_json, positional, options, switches


def opt(options: dict[str, list[str]], *names: str) -> str | None:
    for name in names:
        if name in options:
            return options[name][-1]
    return None


def priority(value: str) -> int:
    text = value.upper().removeprefix("P")
    if not text.isdigit() or not 0 <= int(text) <= 4:
        raise Failure(f"invalid priority {value!r} (expected 0-4 or P0-P4)")
    return int(text)


def check_status(value: str) -> str:
    if value not in STATUSES:
        raise Failure(f"invalid status {value!r}")
    return value


def check_type(value: str) -> str:
    value = {"feat": "feature", "enhancement": "feature", "dec": "decision", "adr": "decision"}.get(value, value)
    if value not in TYPES:
        raise Failure(f"invalid issue type {value!r}")
    return value


def labels_of(options: dict[str, list[str]], *names: str) -> list[str]:
    found: list[str] = []
    for name in names:
        for value in options.get(name, []):
            found += [part.strip() for part in value.split(",") if part.strip()]
    return found


def run(command: str, positional: list[str], options: dict[str, list[str]], switches: set[str],
        store: dict[str, Any]) -> Any:
    issues: dict[str, dict[str, Any]] = store["issues"]

    def find(issue_id: str) -> dict[str, Any]:
        if issue_id not in issues:
            raise Failure(f"issue not found: {issue_id}", "not_found")
        return issues[issue_id]

    if command == "list":
        items = list(issues.values())
        status = opt(options, "--status", "-s")
        if status:
            wanted = set(status.split(","))
            items = [i for i in items if i["status"] in wanted]
        elif "--all" not in switches:
            items = [i for i in items if i["status"] != "closed"]
        if after := opt(options, "--updated-after"):
            cutoff = after if "T" in after else f"{after}T00:00:00"
            items = [i for i in items if i.get("updated_at", "") >= cutoff]
        if text := opt(options, "--title-contains", "--title"):
            items = [i for i in items if text.lower() in i["title"].lower()]
        if who := opt(options, "--assignee", "-a"):
            items = [i for i in items if i.get("assignee") == who]
        items.sort(key=lambda i: (i.get("updated_at", ""), i["id"]))
        limit = int(opt(options, "--limit", "-n") or 50)
        return {"schema_version": 1, "items": items[:limit] if limit else items}
    if command == "show":
        if not positional:
            raise Failure("show needs an issue id")
        return {"schema_version": 1, **find(positional[0]), "comments": []}
    if command == "create":
        title = opt(options, "--title") or (positional[0] if positional else "")
        if not title.strip():
            raise Failure("title required")
        store["next"] += 1
        issue_id = f"bd-{store['next']}"
        stamp = now()
        issue = {
            "id": issue_id, "title": title, "description": opt(options, "--description", "-d") or "",
            "status": check_status(opt(options, "--status", "-s") or "open"),
            "priority": priority(opt(options, "--priority", "-p") or "2"),
            "issue_type": check_type(opt(options, "--type", "-t") or "task"),
            "labels": sorted(set(labels_of(options, "--labels", "-l"))), "assignee": None,
            "parent": opt(options, "--parent"), "created_at": stamp, "updated_at": stamp, "closed_at": None,
        }
        if issue["parent"]:
            find(issue["parent"])
        issues[issue_id] = issue
        return {"schema_version": 1, **issue}
    if command in ("update", "close"):
        if not positional:
            raise Failure(f"{command} needs an issue id")
        issue = find(positional[0])
        if command == "close":
            issue["status"] = "closed"
        if (value := opt(options, "--status", "-s")) is not None:
            issue["status"] = check_status(value)
        if (value := opt(options, "--priority", "-p")) is not None:
            issue["priority"] = priority(value)
        if (value := opt(options, "--type", "-t")) is not None:
            issue["issue_type"] = check_type(value)
        for flag, key in (("--title", "title"), ("--description", "description"), ("--parent", "parent")):
            if (value := opt(options, flag)) is not None:
                issue[key] = value or None if key == "parent" else value
        if "--set-labels" in options:
            issue["labels"] = sorted(set(labels_of(options, "--set-labels")))
        labels = set(issue["labels"]) | set(labels_of(options, "--add-label"))
        issue["labels"] = sorted(labels - set(labels_of(options, "--remove-label")))
        issue["updated_at"] = now()
        issue["closed_at"] = issue["updated_at"] if issue["status"] == "closed" else None
        return {"schema_version": 1, **issue}
    raise Failure(f"unknown command {command!r}", "unknown_command")


def main(argv: list[str]) -> int:
    home = Path.cwd() / ".beads"
    home.mkdir(exist_ok=True)
    with (home / "standin-calls.jsonl").open("a") as log:
        log.write(json.dumps(argv) + "\n")
    try:
        as_json, positional, options, switches = parse(argv)
    except Failure as exc:
        print(json.dumps({"schema_version": 1, "error": str(exc), "code": exc.code}), file=sys.stderr)
        return 1
    command, rest = (positional[0], positional[1:]) if positional else ("", [])
    with open(home / "standin.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        faults_path = home / "standin-faults.json"
        faults = json.loads(faults_path.read_text()) if faults_path.exists() else []
        fault = next((f for f in faults if f.get("command") == command), None)
        if fault is not None:
            faults.remove(fault)
            faults_path.write_text(json.dumps(faults))
            if fault["kind"] == "garbage":
                print("Error: something went sideways <not json>")
                return 0
            print(json.dumps({"schema_version": 1, "error": "database is locked", "code": "internal"}),
                  file=sys.stderr)
            return 1
        store_path = home / "standin.json"
        store = json.loads(store_path.read_text()) if store_path.exists() else {"next": 0, "issues": {}}
        try:
            result = run(command, rest, options, switches, store)
        except Failure as exc:
            print(json.dumps({"schema_version": 1, "error": str(exc), "code": exc.code}), file=sys.stderr)
            return 1
        tmp = store_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(store, indent=1))
        os.replace(tmp, store_path)
    print(json.dumps(result) if as_json else result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
