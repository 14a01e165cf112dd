"""docs/sync.md publishes exactly the package's schemas, categories and lane collapse."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from spec_kitty.core.sync.envelope import LANE_COLLAPSE
from spec_kitty.sync.categories import HINTS

ROOT = Path(__file__).parents[1]
DOC = (ROOT / "docs" / "sync.md").read_text(encoding="utf-8")


def test_the_published_schemas_are_the_packaged_ones() -> None:
    spec = importlib.util.spec_from_file_location("sync_schema_docs",
                                                  ROOT / "scripts" / "sync_schema_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.section() in DOC, "run scripts/sync_schema_docs.py and update docs/sync.md"


def test_every_category_and_lane_is_documented() -> None:
    for category, hint in HINTS.items():
        assert f"| `{category}` | {hint} |" in DOC
    for lane, sync_lane in LANE_COLLAPSE.items():
        assert f"| `{lane.value}` | `{sync_lane}` |" in DOC
