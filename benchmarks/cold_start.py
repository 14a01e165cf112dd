"""Cold start: median of 20 whole-process runs of `spec-kitty --version` and `--help`.

Budget: --version <= 0.1 s median on the CI machine class (2 cores).
"""

from __future__ import annotations

import sys

from _common import CLI, report, time_command


def main() -> int:
    print("== cold start")
    ok = report("spec-kitty --version", time_command([CLI, "--version"]), budget=0.1)
    report("spec-kitty --help", time_command([CLI, "--help"]))
    report("python -c pass (interpreter floor)", time_command([sys.executable, "-c", "pass"]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
