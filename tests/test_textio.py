"""The text-reading seam: BOM, CRLF and non-UTF-8, as properties."""

from __future__ import annotations

import json

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from spec_kitty.core.errors import SpecKittyError
from spec_kitty.core.tasks_doc import parse_tasks_doc
from spec_kitty.repo import frontmatter, textio

BOM = b"\xef\xbb\xbf"
# Text a person might type: any printable character, including ones YAML must quote.
WORDS = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1,
                max_size=30).map(str.strip).filter(bool)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200), st.booleans())
def test_decode_drops_exactly_one_leading_bom(text: str, with_bom: bool) -> None:
    # Text that itself starts with U+FEFF, written without a BOM, *is* a file with a
    # BOM: the two cannot be told apart, so that case says nothing.
    assume(with_bom or not text.startswith("\ufeff"))
    data = (BOM if with_bom else b"") + text.encode("utf-8", "surrogatepass")
    try:
        decoded = textio.decode(data, "x.md")
    except textio.FileNotUtf8:  # lone surrogates are not UTF-8
        assert any(0xD800 <= ord(c) <= 0xDFFF for c in text)
        return
    assert decoded == text


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=100))
def test_non_utf8_bytes_are_a_named_error_with_a_line(data: bytes) -> None:
    try:
        data.decode("utf-8")
        return
    except UnicodeDecodeError as exc:
        start = exc.start
    with pytest.raises(SpecKittyError) as caught:
        textio.decode(data, "kitty-specs/m/tasks.md")
    assert caught.value.code == "FILE_NOT_UTF8"
    assert caught.value.message.startswith("kitty-specs/m/tasks.md:")
    if not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        assert caught.value.details["line"] == data[:start].count(b"\n") + 1


@settings(max_examples=200, deadline=None)
@given(WORDS, st.lists(st.integers(1, 120), max_size=4), st.booleans(), st.booleans())
def test_frontmatter_reads_the_same_with_bom_and_crlf(title: str, deps: list[int],
                                                      bom: bool, crlf: bool) -> None:
    text = (f"---\ntitle: {json.dumps(title, ensure_ascii=False)}\ndependencies: [{', '.join(f'WP{n}' for n in deps)}]"
            "\n---\n# Body\n")
    variant = text.replace("\n", "\r\n") if crlf else text
    data = (BOM if bom else b"") + variant.encode()
    meta, body = frontmatter.load(textio.decode(data, "WP01.md"), "WP01.md")
    plain, plain_body = frontmatter.load(text, "WP01.md")
    assert dict(meta) == dict(plain) and meta["title"] == title
    assert body.replace("\r\n", "\n") == plain_body


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 30), WORDS.filter(lambda w: "#" not in w)),
                min_size=1, max_size=5), st.booleans())
def test_tasks_md_reads_the_same_with_bom_and_crlf(sections: list[tuple[int, str]],
                                                  bom: bool) -> None:
    text = "".join(f"## WP{n:02d}: {title}\n**Dependencies**: WP{n + 1:02d}\n- T{n:03d} do\n\n"
                   for n, title in sections)
    data = (BOM if bom else b"") + text.replace("\n", "\r\n").encode()
    crlf = parse_tasks_doc(textio.decode(data, "tasks.md"))
    lf = parse_tasks_doc(text)
    assert [(s.wp_id, s.title, s.dependencies, s.subtasks) for s in crlf.sections] == \
        [(s.wp_id, s.title, s.dependencies, s.subtasks) for s in lf.sections]




def test_a_crlf_file_stays_crlf_when_frontmatter_is_rewritten() -> None:
    meta, body = frontmatter.load(textio.decode(BOM + b"---\r\ntitle: A\r\n---\r\n# A\r\n\r\nx\r\n"))
    meta["dependencies"] = ["WP01"]
    text = frontmatter.dump(meta, body)
    assert "\r\n" in text and "\n" not in text.replace("\r\n", "")
    assert dict(frontmatter.load(text)[0]) == {"title": "A", "dependencies": ["WP01"]}


# --- output: any payload on any stdout encoding ---------------------------------------------

ENCODINGS = st.sampled_from(["utf-8", "cp1252", "ascii", "latin-1", "cp437", "shift_jis",
                             "utf-16", "koi8-r"])


@settings(max_examples=300, deadline=None)
@given(WORDS, st.dictionaries(WORDS, WORDS, max_size=3), ENCODINGS)
def test_emit_json_is_valid_json_on_any_stdout_encoding(title: str, extra: dict[str, str],
                                                        encoding: str) -> None:
    import io
    import sys

    from spec_kitty.cli import output

    payload = {"title": title, **extra}
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="\n")
    saved = sys.stdout
    sys.stdout = stream
    try:
        output.emit_json(payload)
    finally:
        sys.stdout = saved
    text = raw.getvalue().decode(encoding)
    assert text.endswith("\n") and text.count("\n") == 1
    assert json.loads(text) == payload


@settings(max_examples=200, deadline=None)
@given(WORDS, ENCODINGS)
def test_text_for_people_degrades_instead_of_raising(text: str, encoding: str) -> None:
    import io
    import sys

    from spec_kitty.cli import output

    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding=encoding, errors="strict")
    saved = sys.stdout
    sys.stdout = stream
    try:
        output.write_text(text)
    finally:
        sys.stdout = saved
    # What the encoding can say is written as the codec writes it (shift_jis writes ¥ as
    # 0x5C, read back as a backslash); what it cannot is a "?".
    assert raw.getvalue().decode(encoding) == text.encode(encoding, "replace").decode(encoding)


# --- frontmatter subtasks: every spelling real missions use, through real YAML ---------------

SUBTASK_FORMS = st.sampled_from(["plain", "quoted", "titled", "one_key", "flow_map",
                                 "block_map"])


def _subtask_yaml(number: int, form: str, title: str) -> str:
    task = f"T{number:03d}"
    quoted = json.dumps(f"{task}: {title}")
    return {"plain": f"  - {task}\n", "quoted": f"  - {quoted}\n",
            "titled": f"  - {task} - step {number}\n",
            "one_key": f"  - {task}: {json.dumps(title)}\n",
            "flow_map": f"  - {{id: {task}, title: {json.dumps(title)}, status: planned}}\n",
            "block_map": f"  - id: {task}\n    title: {json.dumps(title)}\n"}[form]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 999), SUBTASK_FORMS, WORDS), min_size=1, max_size=8,
                unique_by=lambda item: item[0]), st.booleans())
def test_subtasks_read_the_same_in_every_frontmatter_spelling(
        items: list[tuple[int, str, str]], bom: bool) -> None:
    from spec_kitty.core import ids

    text = "---\ntitle: WP\nsubtasks:\n" + "".join(
        _subtask_yaml(number, form, title) for number, form, title in items) + "---\nbody\n"
    meta, _ = frontmatter.load(textio.decode((BOM if bom else b"") + text.encode()))
    parsed = ids.parse_subtasks(meta["subtasks"])
    assert parsed.ids == [f"T{number:03d}" for number, _, _ in items]
    assert parsed.invalid == []
