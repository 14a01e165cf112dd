"""``spec-kitty intake``: store a mission brief in the project, with where it came from.

The brief is kept verbatim in ``.kittify/mission-brief.md`` behind two HTML comment
lines (provenance and hash), and described in ``.kittify/brief-source.yaml``. The two
files form a pair: the YAML is written first and the brief last, so a brief that exists
always has its description next to it, and a lone file is debris from an interrupted run.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.repo.atomic import write_bytes_atomic
from spec_kitty.repo.paths import ProjectPaths, find_project_root

BRIEF_NAME = "mission-brief.md"
SOURCE_NAME = "brief-source.yaml"
STDIN_ARG = "-"
STDIN_SOURCE = "stdin"
DEFAULT_MAX_BRIEF_BYTES = 5 * 1024 * 1024
MAX_SOURCE_BYTES = 256
HEADER_PREFIX = "<!-- spec-kitty intake: source="
HASH_PREFIX = "<!-- brief_hash: "
PACKET_KEYS = ("packet_version", "requirement_ids")

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")
_REQUIREMENT_ID = re.compile(r"\b(FR|NFR|C)-(\d+[a-z]?)\b")  # FR-003a: a sub-requirement
_HEADER_RE = re.compile(
    r"\A<!-- spec-kitty intake: source=(?P<source>.*) ingested_at=(?P<at>\S+) -->\n"
    r"<!-- brief_hash: (?P<hash>[0-9a-f]{64}) -->\n\n",
)


class IntakeError(SpecKittyError):
    """A refused intake; ``code`` is one of the stable ``INTAKE_*`` identifiers."""


@dataclass(frozen=True)
class IntakeResult:
    brief_path: Path
    source_path: Path | None  # None when the brief came from stdin
    source: str
    brief_hash: str
    size_bytes: int
    ingested_at: str
    replaced: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "result": "success",
            "brief_path": str(self.brief_path),
            "source_path": str(self.source_path) if self.source_path else None,
            "source": self.source,
            "brief_hash": self.brief_hash,
            "size_bytes": self.size_bytes,
            "ingested_at": self.ingested_at,
        }


@dataclass(frozen=True)
class StoredBrief:
    brief_path: Path
    text: str  # the original brief, header removed
    source: str | None
    ingested_at: str | None
    brief_hash: str | None  # as recorded in the header
    actual_hash: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def hash_matches(self) -> bool:
        return self.brief_hash == self.actual_hash

    def to_json(self) -> dict[str, Any]:
        return {
            "result": "success",
            "brief_path": str(self.brief_path),
            "source": self.source,
            "ingested_at": self.ingested_at,
            "brief_hash": self.brief_hash,
            "hash_matches": self.hash_matches,
            "size_bytes": len(self.text.encode("utf-8")),
            "content": self.text,
            **{key: self.metadata[key] for key in PACKET_KEYS if key in self.metadata},
        }


# --- provenance escaping -------------------------------------------------------------


def _clip_utf8(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    # "ignore" drops the trailing bytes of a code point the cut went through.
    return data[:limit].decode("utf-8", "ignore")


def escape_source(source: str) -> str:
    """Make a user-supplied source name safe inside an HTML comment and a YAML value.

    Never raises: the name comes from the command line or the file system (which may
    hand us lone surrogates for undecodable bytes), and a bad name must not abort intake.
    """
    try:
        text = source if isinstance(source, str) else str(source)
        # Stripping first, so "-\x00->" cannot turn into "-->" after the replacements.
        text = _CONTROL_CHARS.sub("", text)
        text = _SURROGATES.sub("\ufffd", text)
        text = text.replace("-->", "--&gt;").replace("--!>", "--!&gt;")
        text = text.replace("*/", "*&#47;")
        if text.startswith("#"):
            text = "\\" + text
        return _clip_utf8(text, MAX_SOURCE_BYTES)
    except Exception:  # belt and braces: provenance is informational, intake must go on
        return "unknown"


# --- configuration -------------------------------------------------------------------


def _bad_config(paths: ProjectPaths, problem: str, value: object) -> IntakeError:
    return IntakeError(f"{paths.config_file}: {problem}, got {value!r}", "INTAKE_CONFIG_INVALID")


def max_brief_bytes(paths: ProjectPaths) -> int:
    """The size cap from ``intake.max_brief_bytes``; missing config or key means the default."""
    from spec_kitty.repo.config import load_config

    if not paths.config_file.is_file():
        return DEFAULT_MAX_BRIEF_BYTES
    try:
        config = load_config(paths.config_file)
    except OSError as exc:
        raise IntakeError(
            f"Cannot read {paths.config_file}: {exc.strerror or exc}", "INTAKE_CONFIG_INVALID"
        ) from None
    section = config.get("intake") or {}
    if not isinstance(section, dict):
        raise _bad_config(paths, "intake must be a mapping", section)
    value = section.get("max_brief_bytes")
    if value is None:
        return DEFAULT_MAX_BRIEF_BYTES
    # bool is an int subclass, and "true" is never a sensible byte count.
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise _bad_config(paths, "intake.max_brief_bytes must be a positive number of bytes",
                          value)
    return int(value)


# --- reading the brief ---------------------------------------------------------------


def _too_large(size: int | str, cap: int, what: str) -> IntakeError:
    return IntakeError(
        f"{what} is {size} bytes; the limit is {cap} bytes.",
        "INTAKE_TOO_LARGE",
        details={"max_brief_bytes": cap},
        hint="Raise intake.max_brief_bytes in .kittify/config.yaml if this brief is intended.",
    )


def _unreadable(path: Path | str, reason: str) -> IntakeError:
    return IntakeError(f"Cannot read {path}: {reason}", "INTAKE_FILE_UNREADABLE")


def _resolve_inside(arg: str, root: Path, cwd: Path) -> Path:
    candidate = Path(arg) if Path(arg).is_absolute() else cwd / arg
    try:
        resolved = candidate.resolve(strict=True)
    except FileNotFoundError:
        raise IntakeError(f"No such file: {arg}", "INTAKE_FILE_MISSING") from None
    except OSError as exc:
        raise _unreadable(arg, exc.strerror or str(exc)) from None
    except RuntimeError:  # Python 3.11 reports a symlink loop this way
        raise _unreadable(arg, "symbolic link loop") from None
    if not resolved.is_relative_to(root.resolve()):
        raise IntakeError(
            f"{arg} resolves to {resolved}, which is outside the project ({root}).",
            "INTAKE_PATH_ESCAPE",
            hint="Copy the brief into the project first, or pipe it in with `intake -`.",
        )
    return resolved


def _check_regular_size(path: Path, st: os.stat_result, cap: int) -> None:
    if stat.S_ISDIR(st.st_mode):
        raise _unreadable(path, os.strerror(errno.EISDIR))
    if not stat.S_ISREG(st.st_mode):
        # A FIFO or device could block forever or never end.
        raise _unreadable(path, "not a regular file")
    if st.st_size > cap:
        raise _too_large(st.st_size, cap, str(path))


def _read_file(path: Path, cap: int) -> bytes:
    """Read at most ``cap`` bytes, checking size before opening and again after."""
    try:
        _check_regular_size(path, path.stat(), cap)
        # O_NOFOLLOW/O_NONBLOCK: the path was vetted; refuse a symlink or FIFO swapped in since.
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        fd = os.open(path, flags)
    except OSError as exc:
        raise _unreadable(path, exc.strerror or str(exc)) from None
    with os.fdopen(fd, "rb") as handle:
        try:
            _check_regular_size(path, os.fstat(fd), cap)
            data = handle.read(cap + 1)
        except OSError as exc:
            raise _unreadable(path, exc.strerror or str(exc)) from None
    if len(data) > cap:  # the file grew after the stat
        raise _too_large(f"more than {cap}", cap, str(path))
    return data


def _read_stdin(stream: BinaryIO | None, cap: int) -> bytes:
    if stream is None:
        raise _unreadable("stdin", "standard input is not available")
    try:
        # One byte past the cap is enough to know it is too large, without holding more.
        data = stream.read(cap + 1)
    except OSError as exc:
        raise _unreadable("stdin", exc.strerror or str(exc)) from None
    if len(data) > cap:
        raise _too_large(f"more than {cap}", cap, "The brief on stdin")
    return data


def _decode(data: bytes, label: str) -> str:
    """The brief's text without a BOM (its bytes are stored untouched); ``FILE_NOT_UTF8``."""
    from spec_kitty.repo.textio import decode

    return decode(data, label)


# --- handoff packets -----------------------------------------------------------------


def _requirement_ids(body: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {"FR": [], "NFR": [], "C": []}
    for match in _REQUIREMENT_ID.finditer(body):
        ident = match.group(0)
        if ident not in found[match.group(1)]:
            found[match.group(1)].append(ident)
    return found


def packet_fields(text: str) -> dict[str, Any]:
    """``packet_version`` and ``requirement_ids`` for a handoff packet, else ``{}``.

    A brief with broken frontmatter is still a brief; it just is not a packet.
    """
    from spec_kitty.repo import frontmatter

    try:
        meta, body = frontmatter.load(text.removeprefix("\ufeff"))
    except Exception:  # any YAML the parser chokes on just means "not a packet"
        return {}
    version = meta.get("handoff_packet")
    if not isinstance(version, int) or isinstance(version, bool) or version != 1:
        return {}
    return {"packet_version": 1, "requirement_ids": _requirement_ids(body)}


# --- storing -------------------------------------------------------------------------


def _brief_files(paths: ProjectPaths) -> tuple[Path, Path]:
    return paths.kittify / BRIEF_NAME, paths.kittify / SOURCE_NAME


def _refuse_existing(brief: Path, source: Path, force: bool) -> bool:
    """Whether a complete earlier brief is being replaced; raises unless ``force``."""
    complete = brief.exists() and source.exists()
    if complete and not force:
        raise IntakeError(
            f"A mission brief already exists at {brief}.",
            "INTAKE_EXISTS",
            hint="Pass --force to replace it.",
        )
    return complete


def _header(source: str, ingested_at: str, digest: str) -> bytes:
    return (
        f"{HEADER_PREFIX}{source} ingested_at={ingested_at} -->\n"
        f"{HASH_PREFIX}{digest} -->\n\n"
    ).encode()


def _source_yaml(source: str, ingested_at: str, digest: str, data: bytes, text: str) -> bytes:
    from spec_kitty.repo.yamlio import dumps

    record: dict[str, Any] = {
        "source_file": source,
        "ingested_at": ingested_at,
        "brief_hash": digest,
        "size_bytes": len(data),
    }
    record.update(packet_fields(text))
    return dumps(record).encode("utf-8")


def _write_pair(brief: Path, source_file: Path, source_yaml: bytes, brief_bytes: bytes) -> None:
    try:
        # Drop the old brief before its description changes, so no crash can leave a
        # brief next to a YAML naming a different hash; a lone YAML reads as "no brief".
        with contextlib.suppress(FileNotFoundError):
            os.unlink(brief)
        write_bytes_atomic(source_file, source_yaml)
        write_bytes_atomic(brief, brief_bytes)
    except OSError as exc:
        raise IntakeError(
            f"Cannot write the brief to {brief.parent}: {exc.strerror or exc}",
            "INTAKE_WRITE_FAILED",
        ) from None


def ingest_brief(
    arg: str,
    *,
    force: bool = False,
    stdin: BinaryIO | None = None,
    root: Path | None = None,
    cwd: Path | None = None,
) -> IntakeResult:
    """Copy the brief named by ``arg`` (a path, or ``-`` for ``stdin``) into the project."""
    from spec_kitty.repo.config import utc_now_iso

    root = root or find_project_root()
    paths = ProjectPaths(root)
    brief, source_file = _brief_files(paths)
    cap = max_brief_bytes(paths)

    if arg == STDIN_ARG:
        source_path, source = None, STDIN_SOURCE
        data = _read_stdin(stdin, cap)
    else:
        source_path = _resolve_inside(arg, root, cwd or Path.cwd())
        source = escape_source(source_path.relative_to(root.resolve()).as_posix())
        data = _read_file(source_path, cap)
    text = _decode(data, arg if source_path else "stdin")
    # Checked after the input, so a bad argument is reported as such, not as "exists".
    replaced = _refuse_existing(brief, source_file, force)

    digest = hashlib.sha256(data).hexdigest()
    ingested_at = utc_now_iso()
    _write_pair(
        brief,
        source_file,
        _source_yaml(source, ingested_at, digest, data, text),
        _header(source, ingested_at, digest) + data,
    )
    return IntakeResult(brief, source_path, source, digest, len(data), ingested_at, replaced)


# --- showing -------------------------------------------------------------------------


def _brief_unreadable(path: Path, reason: str) -> IntakeError:
    return IntakeError(
        f"The stored brief {path} cannot be read: {reason}",
        "INTAKE_BRIEF_UNREADABLE",
        exit_code=2,
    )


def _read_source_yaml(path: Path) -> dict[str, Any]:
    from spec_kitty.repo.yamlio import load_mapping

    try:
        return dict(load_mapping(path))
    except (OSError, UnicodeDecodeError, SpecKittyError):
        return {}  # the brief itself is what matters; its description is a bonus


def show_brief(root: Path | None = None) -> StoredBrief:
    """The stored brief with its header split off; a half-written pair counts as none."""
    paths = ProjectPaths(root or find_project_root())
    brief, source_file = _brief_files(paths)
    if not (os.path.lexists(brief) and os.path.lexists(source_file)):
        raise IntakeError(
            f"No mission brief in {paths.kittify}.",
            "INTAKE_NO_BRIEF",
            hint="Run `spec-kitty intake <file>` (or `-` for stdin) first.",
        )
    try:
        raw = brief.read_bytes()
        content = raw.decode("utf-8")
    except OSError as exc:
        raise _brief_unreadable(brief, exc.strerror or str(exc)) from None
    except UnicodeDecodeError as exc:
        raise _brief_unreadable(brief, f"not valid UTF-8 at byte {exc.start}") from None
    match = _HEADER_RE.match(content)
    # Someone may have edited or stripped the header; show what is there rather than fail.
    body = content[match.end():] if match else content
    return StoredBrief(
        brief_path=brief,
        text=body,
        source=match.group("source") if match else None,
        ingested_at=match.group("at") if match else None,
        brief_hash=match.group("hash") if match else None,
        actual_hash=hashlib.sha256(body.encode("utf-8")).hexdigest(),
        metadata=_read_source_yaml(source_file),
    )
