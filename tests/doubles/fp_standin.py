"""A stand-in for Fiberplane's ``fp`` CLI, for tests (run as ``fp`` through a PATH wrapper).

Follows Fiberplane's published fp documentation and agent skills
(github.com/fiberplane/claude-code-plugins: ``fp/skills/fp-workflow``,
``fp/skills/fp-planning``, ``fp/commands/fp.md``): issues ``FP-<n>`` with statuses
``todo``, ``in-progress``, ``done`` and optional priority ``low|medium|high|critical``;
``fp issue list [--status S]`` prints one line per issue, children indented under
their parent with tree glyphs; ``fp issue create --title T [--description D]
[--parent P] [--priority p] [--depends a,b]``; ``fp issue update [--status S]
[--priority p] [--depends ...] ID``; ``fp comment ID TEXT``; ``fp context ID
[--format json]``. fp documents ``--format json`` for ``context`` but not its field
names, so the JSON keys here (id, title, status, priority, description, parent,
created_at, updated_at) are this stand-in's assumption; the connector reads them
tolerantly. State lives in ``.fp/standin.json`` under the working directory; calls
are logged to ``.fp/standin-calls.jsonl``.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

STATUSES = ("todo", "in-progress", "done")
PRIORITIES = ("low", "medium", "high", "critical")
VALUE_FLAGS = {"--status", "--priority", "--title", "--description", "--parent", "--depends", "--format"}


def now() -> str:
    return os.environ.get("FP_STANDIN_NOW") or datetime.now(UTC).isoformat(timespec="microseconds")


class Failure(Exception):
    pass


def parse(argv: list[str]) -> tuple[list[str], dict[str, str]]:
    positional, options = [], {}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in VALUE_FLAGS:
            if i + 1 >= len(argv):
                raise Failure(f"error: a value is required for '{arg} <VALUE>'")
            options[arg] = argv[i + 1]
            i += 1
        elif arg.startswith("--"):
            raise Failure(f"error: unexpected argument '{arg}' found")
        else:
            positional.append(arg)
        i += 1
    return positional, options


def line(issue: dict[str, Any], prefix: str = "") -> str:
    priority = f" [{issue['priority']}]" if issue.get("priority") else ""
    return f"{prefix}{issue['id']} [{issue['status']}]{priority} {issue['title']}"


def tree(issues: dict[str, dict[str, Any]], wanted: str | None) -> list[str]:
    out: list[str] = []

    def walk(parent: str | None, depth: int) -> None:
        children = [i for i in issues.values() if i.get("parent") == parent]
        for n, issue in enumerate(children):
            glyph = "" if depth == 0 else "    " * (depth - 1) + ("└── " if n == len(children) - 1 else "├── ")
            if wanted is None or issue["status"] == wanted:
                out.append(line(issue, glyph))
            walk(issue["id"], depth + 1)

    walk(None, 0)
    return out


def run(positional: list[str], options: dict[str, str], store: dict[str, Any]) -> str:
    issues: dict[str, dict[str, Any]] = store["issues"]

    def find(issue_id: str) -> dict[str, Any]:
        if issue_id not in issues:
            raise Failure(f"Error: issue {issue_id} not found")
        return issues[issue_id]

    def check(status: str | None, priority: str | None) -> None:
        if status is not None and status not in STATUSES:
            raise Failure(f"error: invalid value '{status}' for '--status'")
        if priority is not None and priority not in PRIORITIES:
            raise Failure(f"error: invalid value '{priority}' for '--priority'")

    match positional:
        case ["issue", "list"]:
            status = options.get("--status")
            check(status, None)
            return "\n".join(tree(issues, status)) or "No issues found"
        case ["issue", "create"]:
            title = options.get("--title", "")
            if not title.strip():
                raise Failure("error: the following required arguments were not provided: --title")
            check(None, options.get("--priority"))
            if parent := options.get("--parent"):
                find(parent)
            store["next"] += 1
            stamp = now()
            issue = {"id": f"FP-{store['next']}", "title": title, "status": "todo",
                     "priority": options.get("--priority"), "description": options.get("--description", ""),
                     "parent": options.get("--parent"), "depends": [d for d in options.get("--depends", "").split(",") if d],
                     "created_at": stamp, "updated_at": stamp, "comments": []}
            issues[issue["id"]] = issue
            return f"Created issue {issue['id']}: {title}"
        case ["issue", "update", issue_id]:
            issue = find(issue_id)
            check(options.get("--status"), options.get("--priority"))
            for flag in ("--status", "--priority"):
                if flag in options:
                    issue[flag[2:]] = options[flag]
            if "--depends" in options:
                issue["depends"] = [d for d in options["--depends"].split(",") if d]
            issue["updated_at"] = now()
            return f"Updated issue {issue_id}"
        case ["issue", "show", issue_id]:
            issue = find(issue_id)
            return "\n".join([line(issue), "", issue["description"]])
        case ["context", issue_id]:
            issue = find(issue_id)
            if options.get("--format") == "json":
                return json.dumps({k: v for k, v in issue.items() if k != "comments"})
            return f"# {issue['id']}: {issue['title']}\n\nStatus: {issue['status']}\n\n{issue['description']}"
        case ["comment", issue_id, text]:
            find(issue_id)["comments"].append({"at": now(), "text": text})
            return f"Comment added to {issue_id}"
    raise Failure(f"error: unrecognized subcommand '{' '.join(positional)}'")


def main(argv: list[str]) -> int:
    home = Path.cwd() / ".fp"
    home.mkdir(exist_ok=True)
    with (home / "standin-calls.jsonl").open("a") as log:
        log.write(json.dumps(argv) + "\n")
    with open(home / "standin.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        store_path = home / "standin.json"
        store = json.loads(store_path.read_text()) if store_path.exists() else {"next": 0, "issues": {}}
        try:
            positional, options = parse(argv)
            output = run(positional, options, store)
        except Failure as exc:
            print(exc, file=sys.stderr)
            return 2
        tmp = store_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(store, indent=1))
        os.replace(tmp, store_path)
    print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
