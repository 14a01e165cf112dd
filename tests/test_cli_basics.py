"""The CLI skeleton: version, help, exit codes and the --json error convention."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from spec_kitty import __version__

from helpers import parse_one_json, run_cli


def test_version_prints_version(tmp_path: Path) -> None:
    proc = run_cli(["--version"], tmp_path)
    assert proc.returncode == 0
    assert proc.stdout == f"spec-kitty {__version__}\n"


def test_version_does_not_import_typer_rich_or_commands() -> None:
    code = (
        "import sys\n"
        "from spec_kitty.cli.main import main\n"
        "main(['--version'])\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('typer', 'rich', 'ruamel')"
        " or m.startswith('spec_kitty.cli.') and m != 'spec_kitty.cli.main']\n"
        "print('HEAVY=' + ','.join(sorted(heavy)))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("HEAVY="), proc.stdout


def test_help_lists_commands_without_importing_them() -> None:
    code = (
        "import sys\n"
        "from spec_kitty.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print('LOADED=' + ','.join(sorted(m for m in sys.modules"
        " if m.startswith('spec_kitty.cli.') and m.endswith('_cmd'))))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "init" in proc.stdout and "verify-setup" in proc.stdout
    assert proc.stdout.strip().endswith("LOADED="), proc.stdout


def test_unknown_command_is_a_usage_error(tmp_path: Path) -> None:
    proc = run_cli(["no-such-command"], tmp_path)
    assert proc.returncode == 2
    assert "No such command" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_usage_error_with_json_is_one_json_object(tmp_path: Path) -> None:
    proc = run_cli(["init", "--no-such-flag", "--json"], tmp_path)
    assert proc.returncode == 2
    payload = parse_one_json(proc.stdout)
    assert payload["error_code"] == "USAGE_ERROR"
    assert "no-such-flag" in payload["error"]


def test_command_error_with_json_is_one_json_object(tmp_path: Path) -> None:
    proc = run_cli(["init", ".", "--json"], tmp_path)
    assert proc.returncode == 1
    payload = parse_one_json(proc.stdout)
    assert payload["error_code"] == "AI_REQUIRED"
    assert proc.stderr == ""


def test_command_error_without_json_goes_to_stderr(tmp_path: Path) -> None:
    proc = run_cli(["init", ".", "--ai", "nope"], tmp_path)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "Unknown agent key(s): nope" in proc.stderr
    assert "Traceback" not in proc.stderr
