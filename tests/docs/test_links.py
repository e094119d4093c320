"""Every relative link in README.md and docs/*.md leads somewhere: the file exists, and an anchor
(`page.md#section`) names a heading of that page or an explicit `id`."""

from __future__ import annotations

from pathlib import Path

import pytest

from steprunner.testing.markdown import anchors, broken_links, links, slug
from tests.support.server import REPO_ROOT

PAGES = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(REPO_ROOT)) for p in PAGES])
def test_relative_links_resolve(page: Path) -> None:
    assert broken_links(page) == []


def test_the_readme_links_every_docs_page() -> None:
    linked = {
        (REPO_ROOT / target.partition("#")[0]).resolve() for target in links((REPO_ROOT / "README.md").read_text())
    }
    assert [p.name for p in PAGES[1:] if p.resolve() not in linked] == []


def test_each_docs_page_starts_with_what_it_is_for() -> None:
    for page in PAGES[1:]:
        if page.name == "decisions.md":  # its own opening says what it records
            continue
        text = page.read_text(encoding="utf-8")
        assert "What this page is for:" in text.split("\n## ", 1)[0], page.name


def test_the_checker_finds_a_broken_link_and_anchor(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text('# Other page\n\n## A `code` heading, with: punctuation\n\n<a id="12"></a>\n')
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md) [ok](other.md#a-code-heading-with-punctuation) [ok](other.md#12) [ok](#here)\n"
        "[gone](missing.md) [no anchor](other.md#nowhere) `[in code](missing2.md)` [web](https://example.com/x)\n"
        "# Here\n```\n[in a block](missing3.md)\n```\n"
    )
    assert broken_links(page) == [
        "missing.md: no such file",
        "other.md#nowhere: other.md has no heading or id for #nowhere",
    ]
    assert slug("A pet's timeline, live") == "a-pets-timeline-live"
    assert {"other-page", "a-code-heading-with-punctuation", "12"} <= anchors((tmp_path / "other.md").read_text())
