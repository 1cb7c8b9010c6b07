"""The README and the guides under docs/: short enough, rendered, and every link leads somewhere."""

import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "roles").glob("*/README.md"))]
MD = MarkdownIt("commonmark").enable("table")


def slug(heading):
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to dashes."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def tokens(page):
    return MD.parse(page.read_text())


def links(page):
    found, stack = [], tokens(page)
    while stack:
        token = stack.pop()
        stack.extend(token.children or [])
        if token.type == "link_open":
            found.append(token.attrs["href"])
    return found


def anchors(page):
    toks = tokens(page)
    return {slug(toks[i + 1].content) for i, t in enumerate(toks) if t.type == "heading_open"}


def test_the_readme_is_a_newcomers_page():
    text = (ROOT / "README.md").read_text()
    assert len(text.splitlines()) <= 200
    for guide in ("docs/operations.md", "docs/tiers.md", "docs/api.md", "docs/aws.md", "docs/security.md",
                  "docs/architecture.md", "docs/performance.md", "docs/testing.md"):
        assert f"]({guide})" in text, guide


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_link_of_a_page_leads_to_a_file_and_heading_that_exist(page):
    assert [t for t in tokens(page) if t.type == "heading_open" and t.tag == "h1"], "no title"
    for href in links(page):
        if re.match(r"^[a-z]+:", href):
            continue  # an address outside the checkout
        path, _hash, anchor = href.partition("#")
        target = (page.parent / path).resolve() if path else page
        assert target.exists(), f"{href}: no {target}"
        if anchor:
            assert anchor in anchors(target), f"{href}: no heading '{anchor}' in {target.name}"
