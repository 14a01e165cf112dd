"""Print the "Published schemas" section of docs/sync.md from the package's schemas.

Run `python scripts/sync_schema_docs.py` and paste the output over the section when a
schema changes; tests/test_sync_docs.py fails until docs/sync.md matches the package.
"""

from __future__ import annotations

import json

from spec_kitty.core.sync.schemas import load_schema, schema_names


def section() -> str:
    """The markdown of every published schema, envelope first."""
    parts = ["## Published schemas\n"]
    for name in schema_names():
        parts.append(f"### Schema: {name}\n\n`spec_kitty/core/schemas/{name}.schema.json`\n\n"
                     f"```json\n{json.dumps(load_schema(name), indent=2)}\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    print(section(), end="")
