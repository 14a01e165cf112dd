"""Run every benchmark script in this directory and print their figures."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main() -> int:
    sys.path.insert(0, str(HERE))
    over_budget = []
    for script in sorted(HERE.glob("*.py")):
        if script.name.startswith("_") or script.name == "run_all.py":
            continue
        module = runpy.run_path(str(script))
        if module["main"]() != 0:
            over_budget.append(script.name)
        print()
    if over_budget:
        print("over budget:", ", ".join(over_budget))
    # Figures are for people; a slow machine should not fail `make bench`.
    return 0


if __name__ == "__main__":
    sys.exit(main())
