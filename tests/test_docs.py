"""The README stays a short guide, and every relative link and image in it and in docs/ resolves.

A link is checked down to its #anchor, against the headings of the file it points at (GitHub's
rule for turning a heading into an anchor), so moving or renaming a section breaks this test, not
the reader's click.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README_MAX_LINES = 320

FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.M)


def markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def anchors(path: Path) -> set[str]:
    """The anchors GitHub gives a file's headings: lower case, punctuation dropped, spaces to '-',
    a repeated heading suffixed -1, -2, ..."""
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    out = set()
    for heading in HEADING.findall(text):
        slug = re.sub(r"[^\w\- ]", "", heading.replace("`", "").strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def broken_links(path: Path) -> list[str]:
    """Every relative link or image in `path` whose file, or whose #anchor in that file, is missing."""
    text = INLINE_CODE.sub("", FENCE.sub("", path.read_text(encoding="utf-8")))
    broken = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        dest = (path.parent / file_part).resolve() if file_part else path
        if not dest.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target} (no heading for #{anchor} in {dest.name})")
    return broken


def test_checker_finds_a_missing_file_a_missing_image_and_a_missing_anchor(tmp_path):
    (tmp_path / "other.md").write_text("# Other\n\n## Some `code` here: yes\n", encoding="utf-8")
    doc = tmp_path / "doc.md"
    doc.write_text(
        "## Local part\n"
        "[ok](other.md#some-code-here-yes) [ok](#local-part) [web](https://example.org/x.md)\n"
        "[gone](missing.md) ![gone](images/none.png) [bad anchor](other.md#nothing)\n"
        "`[in code](ignored.md)`\n```\n[in a block](ignored.md)\n```\n",
        encoding="utf-8",
    )
    assert broken_links(doc) == [
        "missing.md (no such file)",
        "images/none.png (no such file)",
        "other.md#nothing (no heading for #nothing in other.md)",
    ]


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_and_images_resolve(path):
    assert broken_links(path) == []


def test_docs_have_pictures_only_where_they_are_linked():
    """Every image under docs/images/ is shown somewhere, so none is left behind by a move."""
    shown = set()
    for path in markdown_files():
        text = FENCE.sub("", path.read_text(encoding="utf-8"))
        shown |= {(path.parent / t).resolve() for t in LINK.findall(text) if not re.match(r"^\w+:", t)}
    unshown = [p.name for p in sorted((ROOT / "docs" / "images").glob("*.png")) if p.resolve() not in shown]
    assert unshown == []


def test_readme_is_a_short_guide():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move details to docs/"


def test_docs_name_no_stale_places():
    """The contracts are docs/design.md and docs/algorithms.md; sources are cited by author and title."""
    for path in markdown_files():
        text = path.read_text(encoding="utf-8")
        for stale in ("DESIGN.md", "ALGORITHMS.md", 'see "Performance"', "seed document"):
            assert stale not in text, f"{path.relative_to(ROOT)} mentions {stale!r}"
