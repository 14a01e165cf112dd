"""Do two ``owned_files`` globs claim a common path?

Globs are repo-relative with ``*`` (within one path segment), ``?`` and ``**`` (any
number of segments); a pattern ending in ``/`` or naming a directory covers everything
below it. The test is exact for literal paths and conservative for two wildcard
patterns: they overlap unless their literal prefixes diverge or their literal suffixes
(such as file extensions) rule out a common path.
"""

from __future__ import annotations

import re
from functools import cache

_WILDCARD = re.compile(r"[*?\[]")


def normalize(pattern: str) -> str:
    pattern = pattern.strip().replace("\\", "/")
    while pattern.startswith("./"):
        pattern = pattern[2:]
    pattern = re.sub(r"/+", "/", pattern)
    if pattern.endswith("/"):
        pattern += "**"
    return pattern


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    out = []
    index = 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            out.append("(?:.*/)?")
            index += 3
        elif pattern.startswith("**", index):
            out.append(".*")
            index += 2
        elif pattern[index] == "*":
            out.append("[^/]*")
            index += 1
        elif pattern[index] == "?":
            out.append("[^/]")
            index += 1
        else:
            out.append(re.escape(pattern[index]))
            index += 1
    # A pattern also covers everything below a directory it names.
    return re.compile("".join(out) + "(?:/.*)?$")


def _literal_prefix(pattern: str) -> str:
    match = _WILDCARD.search(pattern)
    return pattern if match is None else pattern[: match.start()]


def _literal_suffix(pattern: str) -> str:
    last = max(pattern.rfind("*"), pattern.rfind("?"), pattern.rfind("]"))
    return pattern[last + 1 :] if last >= 0 else pattern


def matches(pattern: str, path: str) -> bool:
    return _regex(normalize(pattern)).match(normalize(path)) is not None


def overlap(a: str, b: str) -> bool:
    a, b = normalize(a), normalize(b)
    a_literal, b_literal = not _WILDCARD.search(a), not _WILDCARD.search(b)
    if a_literal or b_literal:
        literal, other = (a, b) if a_literal else (b, a)
        if matches(other, literal):
            return True
        # A literal directory also covers paths the other pattern may produce below it.
        return _literal_prefix(other).startswith(literal.rstrip("/") + "/")
    prefix_a, prefix_b = _literal_prefix(a), _literal_prefix(b)
    if not (prefix_a.startswith(prefix_b) or prefix_b.startswith(prefix_a)):
        return False
    suffix_a, suffix_b = _literal_suffix(a), _literal_suffix(b)
    if "/" in suffix_a or "/" in suffix_b:
        return True  # a fixed trailing directory part: stay conservative
    return suffix_a.endswith(suffix_b) or suffix_b.endswith(suffix_a)


def overlapping_pairs(a: list[str], b: list[str]) -> list[tuple[str, str]]:
    return [(x, y) for x in a for y in b if overlap(x, y)]
