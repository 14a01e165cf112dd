"""Console entry point.

Kept import-light on purpose: ``spec-kitty --version`` answers before typer, rich or
any command module is imported, and so do the two commands agents call in a loop when
their arguments are plain (see :mod:`spec_kitty.cli.fast`).
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--version"] or args == ["-V"]:
        from spec_kitty import __version__

        sys.stdout.write(f"spec-kitty {__version__}\n")
        return 0
    from spec_kitty.cli.fast import serve

    served = serve(args)
    if served is not None:
        return served
    from spec_kitty.cli.app import run

    return run(args)


if __name__ == "__main__":
    sys.exit(main())
