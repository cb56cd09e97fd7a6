"""README.md stays a user's README: short, its commands known to the command test, its links alive."""

from __future__ import annotations

import re

from runtime.settings import PROJECT_ROOT
from tests.readme_commands import INSTEAD, README, SKIP, exists, readme_commands, relative_links, used_patterns

MAX_LINES = 300


def test_readme_is_at_most_300_lines() -> None:
    assert len(README.read_text().splitlines()) <= MAX_LINES


def test_quick_start_is_make_up_then_make_test_and_ci_runs_make_test() -> None:
    first_block = re.search(r"```bash\n(.*?)```", README.read_text(), re.S)
    assert first_block
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines() if line.strip()]
    assert commands == ["make up", "make test"]
    ci = (PROJECT_ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M)


def test_every_exception_in_the_command_tables_matches_a_readme_command() -> None:
    commands = readme_commands()
    assert len(commands) >= 5
    stale = (set(INSTEAD) | set(SKIP)) - used_patterns(commands)
    assert not stale, f"entries matching no README command: {stale}"


def test_continuation_lines_and_indented_blocks_are_parsed() -> None:
    text = "x\n```bash\nfoo --a \\\n    --b  # note\n# comment\n\nbar\n```\n- item\n\n  ```bash\n  baz\n  ```\n"
    commands = readme_commands(text)
    assert [c.text for c in commands] == ["foo --a --b  # note", "bar", "baz"]
    assert [c.bare for c in commands] == ["foo --a --b", "bar", "baz"]
    assert [c.line for c in commands] == [3, 7, 12]


def test_readme_links_point_at_files_that_exist() -> None:
    dead = [link for link in relative_links() if not exists(link)]
    assert not dead, dead


def test_the_make_it_yours_page_starts_with_the_readmes_section() -> None:
    """docs/make-it-yours.md is the README's walkthrough (its links made relative to docs/) and then
    the details: the two cannot drift apart."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme[readme.index("## Make it yours"):readme.index("\n## Serve")].rstrip()
    page = (PROJECT_ROOT / "docs" / "make-it-yours.md").read_text()
    assert page.startswith("# " + section.removeprefix("## ").replace("](docs/", "](") + "\n")
