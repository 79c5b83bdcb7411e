"""Every relative link in the documentation leads somewhere: the file, and the heading it names.

Reads README.md, docs/*.md and benchmarks/README.md; no network (absolute URLs are skipped).
Anchors are made from headings the way GitHub makes them: the heading's text lower-cased,
everything but letters, digits, `_`, `-` and spaces dropped, spaces turned into hyphens, and
`-1`, `-2`, ... appended to repeats. Links inside fenced code blocks and code spans are text,
not links, and are not checked.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", ROOT / "benchmarks" / "README.md", *sorted(DOCS.glob("*.md"))]

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
# [text](target "title") and ![alt](target); the text may hold one level of brackets.
_INLINE_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]"
    r"\(\s*(<[^>\n]*>|[^\s()]+)(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)"
)
_REFERENCE = re.compile(r"^ {0,3}\[[^\]]+\]:[ \t]*(<[^>\n]*>|\S+)", re.MULTILINE)
_HTML_ANCHOR = re.compile(r"""<a\s[^>]*?(?:name|id)=["']([^"']+)["']""")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_LINE_ANCHOR = re.compile(r"^L\d+(?:-L\d+)?$")


def _outside_code_blocks(text: str) -> list[str]:
    """The text's lines, those of fenced code blocks (fences included) blanked out."""
    lines = []
    fence: str | None = None
    for line in text.splitlines():
        opened = _FENCE.match(line)
        if fence is None and opened:
            fence = opened.group(1)
        elif fence is not None:
            stripped = line.strip()
            if stripped.startswith(fence) and not stripped.strip(fence[0]):
                fence = None
        else:
            lines.append(line)
            continue
        lines.append("")
    return lines


def _prose(text: str) -> str:
    """The text with code blocks and code spans blanked out, line numbers kept."""
    prose = "\n".join(_outside_code_blocks(text))
    return _CODE_SPAN.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), prose)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading (before repeats are numbered)."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text, not its URL
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = re.sub(r"[^\w\- ]", "", text.lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every anchor a page offers: one per heading (repeats numbered) and explicit HTML ones."""
    lines = _outside_code_blocks(page.read_text())
    found: set[str] = set(_HTML_ANCHOR.findall("\n".join(lines)))
    seen: Counter[str] = Counter()
    for line in lines:
        heading = _HEADING.match(line)
        if heading:
            base = slug(heading.group(1))
            found.add(base if seen[base] == 0 else f"{base}-{seen[base]}")
            seen[base] += 1
    return found


def links(page: Path) -> list[tuple[int, str]]:
    """Each link target in a page's prose, with its line number."""
    prose = _prose(page.read_text())
    matches = [*_INLINE_LINK.finditer(prose), *_REFERENCE.finditer(prose)]
    found = []
    for match in matches:
        target = match.group(1)
        if target.startswith("<") and target.endswith(">"):
            target = target[1:-1]
        found.append((prose.count("\n", 0, match.start(1)) + 1, target))
    return sorted(found)


def broken_links(page: Path, root: Path = ROOT) -> list[str]:
    """What is wrong with each relative link of a page, as `file:line: target: why`."""
    problems = []
    where = page.relative_to(root)
    for line, target in links(page):
        if _SCHEME.match(target) or target.startswith("//"):
            continue  # an absolute URL: not checked here, no network
        path_part, _, anchor = target.partition("#")
        path_part = unquote(path_part.partition("?")[0])
        destination = (page.parent / path_part).resolve() if path_part else page
        if not destination.is_relative_to(root.resolve()):
            problems.append(f"{where}:{line}: {target}: leaves the repository")
        elif not destination.exists():
            problems.append(f"{where}:{line}: {target}: no such file")
        elif "#" not in target:
            continue
        elif destination.suffix == ".md":
            if unquote(anchor) not in anchors(destination):
                shown = destination.relative_to(root.resolve())
                problems.append(f"{where}:{line}: {target}: no heading #{anchor} in {shown}")
        elif not (destination.is_file() and _LINE_ANCHOR.match(anchor)):
            problems.append(f"{where}:{line}: {target}: an anchor into a file that has none")
    return problems


def test_the_documentation_pages_are_there() -> None:
    assert (ROOT / "README.md").is_file()
    assert len(PAGES) > 2, "no docs/*.md pages found"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file_and_heading(page: Path) -> None:
    problems = broken_links(page)
    assert problems == [], "\n".join(problems)


def test_every_docs_page_is_linked_from_the_readme() -> None:
    linked = {
        (ROOT / unquote(target.partition("#")[0])).resolve()
        for _, target in links(ROOT / "README.md")
    }
    assert [page.name for page in DOCS.glob("*.md") if page.resolve() not in linked] == []


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Time limits, and how they interact", "time-limits-and-how-they-interact"),
        ("Batch jobs: to files, in the background", "batch-jobs-to-files-in-the-background"),
        (
            "Every format from COPY's text format (issue 7, third session)",
            "every-format-from-copys-text-format-issue-7-third-session",
        ),
        ("Jobs (`python -m benchmarks.jobs`)", "jobs-python--m-benchmarksjobs"),
        ("Compression (100,000 rows, plain requests)", "compression-100000-rows-plain-requests"),
        ("See [Limits](docs/x.md) and `EXPORTER_JOBS_DIR`", "see-limits-and-exporter_jobs_dir"),
    ],
)
def test_anchors_follow_githubs_rules(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor


def test_a_missing_file_or_heading_is_reported(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "other.md").write_text("# Other\n\n## Plots\n\n## Plots\n")
    page = tmp_path / "README.md"
    page.write_text(
        "# Title\n\n"
        "Good: [other](docs/other.md), [a heading](docs/other.md#plots-1), [here](#title),\n"
        '[a folder](docs/), ![an image](docs/other.md "title") and <https://example.com>.\n'
        "Bad: [gone](docs/gone.md) and [no heading](docs/other.md#plots-2), and\n"
        "[a wrapped\nlink text](#nowhere).\n\n"
        "```md\n[in a code block](docs/ignored.md)\n```\n\n"
        "`[in a code span](docs/ignored.md)` [outside](../outside.md)\n"
    )
    assert broken_links(page, root=tmp_path) == [
        "README.md:5: docs/gone.md: no such file",
        "README.md:5: docs/other.md#plots-2: no heading #plots-2 in docs/other.md",
        "README.md:7: #nowhere: no heading #nowhere in README.md",
        "README.md:13: ../outside.md: leaves the repository",
    ]
