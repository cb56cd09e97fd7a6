"""The environment-variable table is generated from Settings, and docs/configuration.md carries it, current.

docs/configuration.md's "Environment variables" section holds the output of
`python -m offline.env_table --write`; after adding a setting, run that command.
"""

from __future__ import annotations

import pytest

from offline.env_table import BEGIN, DOC, END, MEANINGS, main, markdown, rows, with_table
from runtime.settings import Settings


def test_every_setting_has_a_meaning_and_no_meaning_is_stale() -> None:
    names = [name for name, _, _ in rows()]  # raises for a field without a meaning
    assert names == [field.upper() for field in Settings.model_fields]
    assert set(MEANINGS) <= set(Settings.model_fields), set(MEANINGS) - set(Settings.model_fields)
    assert markdown().count("\n") == len(names) + 1


def test_configuration_doc_lists_every_environment_variable() -> None:
    doc = DOC.read_text()
    table = doc.partition(BEGIN)[2].partition(END)[0]
    missing = [name for name, _, _ in rows() if f"| `{name}` |" not in table]
    assert not missing, f"{DOC.name} lacks {missing}: run `python -m offline.env_table --write`"
    assert with_table(doc) == doc, f"{DOC.name}'s table is stale: run `python -m offline.env_table --write`"


def test_write_replaces_only_the_table(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = tmp_path / "configuration.md"
    doc.write_text(f"# before\n{BEGIN}\n| old |\n{END}\nafter\n")
    monkeypatch.setattr("offline.env_table.DOC", doc)
    monkeypatch.setattr("offline.env_table.PROJECT_ROOT", tmp_path)
    assert main(["--write"]) == 0
    assert doc.read_text() == f"# before\n{BEGIN}\n{markdown()}\n{END}\nafter\n"
    doc.write_text("no markers\n")
    assert main(["--write"]) == 1
