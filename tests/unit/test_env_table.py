"""The environment-variable table is generated from Settings, and README.md lists every variable.

README.md's "Environment variables" section carries the output of `python -m offline.env_table`.
"""

from __future__ import annotations

import re

from offline.env_table import MEANINGS, markdown, rows
from runtime.settings import PROJECT_ROOT, Settings


def test_every_setting_has_a_meaning_and_no_meaning_is_stale() -> None:
    names = [name for name, _, _ in rows()]  # raises for a field without a meaning
    assert names == [field.upper() for field in Settings.model_fields]
    assert set(MEANINGS) <= set(Settings.model_fields), set(MEANINGS) - set(Settings.model_fields)
    assert markdown().count("\n") == len(names) + 1


def readme_section(title: str) -> str:
    text = (PROJECT_ROOT / "README.md").read_text()
    match = re.search(rf"^(#+) {re.escape(title)}\s*$", text, re.M)
    assert match, f'README.md has no section "{title}"'
    level = len(match.group(1))
    rest = text[match.end() :]
    end = re.search(rf"^#{{1,{level}}} ", rest, re.M)
    return rest[: end.start()] if end else rest


def test_readme_lists_every_environment_variable() -> None:
    section = readme_section("Environment variables")
    missing = [name for name, _, _ in rows() if f"`{name}`" not in section]
    assert not missing, f"README.md's Environment variables section lacks {missing} (paste offline.env_table)"
