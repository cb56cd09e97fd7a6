"""Where compiled programs live, and how the graph picks them up.

`dspy_programs/compiled/<model-slug>/<program>.json` is DSPy's own JSON state
(`module.save`), never pickle; `<program>.meta.json` beside it records how it was made.
`optimize` (offline/compile.py) writes both; this module reads them.
A program runs compiled when a file exists for the configured model, zero-shot otherwise.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

import dspy

from dspy_programs.programs import PROGRAMS, selector_kwargs

log = logging.getLogger(__name__)

COMPILED_DIR = Path(__file__).resolve().parent / "compiled"


def _inside(root: Path, model_slug: str, filename: str) -> Path:
    """root/<model_slug>/<filename>, refusing a slug that would leave `root` (a model named `x/..`)."""
    path = root / model_slug / filename
    if model_slug in ("", ".", "..") or "/" in model_slug or "\\" in model_slug \
            or not path.resolve().is_relative_to(root.resolve()):  # fmt: skip
        raise ValueError(f"model slug {model_slug[:80]!r} does not name a folder inside {root}")
    return path


def program_path(name: str, model_slug: str, root: Path = COMPILED_DIR) -> Path:
    return _inside(root, model_slug, f"{name}.json")


def meta_path(name: str, model_slug: str, root: Path = COMPILED_DIR) -> Path:
    return _inside(root, model_slug, f"{name}.meta.json")


def read_meta(name: str, model_slug: str, root: Path = COMPILED_DIR) -> dict[str, Any] | None:
    path = meta_path(name, model_slug, root)
    return json.loads(path.read_text()) if path.exists() else None


def build(name: str, **kwargs: Any) -> dspy.Module:
    if name not in PROGRAMS:
        raise ValueError(f"unknown program {name!r}; choose from {sorted(PROGRAMS)}")
    return PROGRAMS[name](**kwargs)


def load_program(name: str, model_slug: str, root: Path = COMPILED_DIR) -> tuple[dspy.Module, str]:
    """Return (program, how) where how is 'compiled (<optimizer>)' or 'zero-shot'."""
    path = program_path(name, model_slug, root)
    meta = read_meta(name, model_slug, root) or {}
    kwargs: dict[str, Any] = selector_kwargs(meta) if name == "selector" else {}
    program = build(name, **kwargs)
    if not path.exists():
        return program, "zero-shot"
    program.load(str(path))
    return program, f"compiled ({meta.get('optimizer', 'unknown optimizer')})"


class ProgramCache:
    """Loads each program once per model, and logs once which version runs."""

    def __init__(self, root: Path = COMPILED_DIR) -> None:
        self.root = root
        self._programs: dict[tuple[str, str], dspy.Module] = {}
        self._lock = threading.Lock()

    def loaded(self, name: str, model_slug: str) -> dspy.Module | None:
        """The program if it is loaded already (no file is read), else None."""
        with self._lock:
            return self._programs.get((name, model_slug))

    def get(self, name: str, model_slug: str) -> dspy.Module:
        key = (name, model_slug)
        with self._lock:
            if key not in self._programs:
                program, how = load_program(name, model_slug, self.root)
                log.info("program %s for model %s: %s", name, model_slug, how)
                self._programs[key] = program
            return self._programs[key]


PROGRAM_CACHE = ProgramCache()
