"""Where compiled programs live, which one runs for each role and model, and loading them.

`<compiled>/<model-slug>/<program>.json` is DSPy's own JSON state (`module.save`), never pickle;
`<program>.meta.json` beside it records how it was made. `<compiled>` is the configured agent's
folder (agent.toml's `compiled`; the template's is dspy_programs/compiled). `optimize`
(offline/compile.py) writes both; this module reads them. A program runs compiled when a file
exists for the role's model, zero-shot otherwise, and `program_status` says which.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

import dspy

from dspy_programs.programs import PROGRAMS, selector_kwargs
from runtime.agent_config import agent_config
from runtime.models import endpoint
from runtime.settings import PROJECT_ROOT, ROLES, Role

log = logging.getLogger(__name__)

COMPILED_DIR = Path(__file__).resolve().parent / "compiled"  # the template's own programs
COMPILED_ROLES: tuple[Role, ...] = ("selector", "synthesizer", "critic")  # what `optimize` compiles


def compiled_dir() -> Path:
    """The configured agent's compiled programs (agent.toml's `compiled`)."""
    return agent_config().compiled_dir


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


class ProgramLoadError(ValueError):
    """A compiled program that cannot be run: its file and why, in one line."""


def load_program(name: str, model_slug: str, root: Path = COMPILED_DIR) -> tuple[dspy.Module, str]:
    """Return (program, how) where how is 'compiled (<optimizer>)' or 'zero-shot'.

    A compiled file this code cannot run (an older format, a removed option, broken JSON) raises
    ProgramLoadError naming the file, never a traceback from deep inside DSPy."""
    path = program_path(name, model_slug, root)
    try:
        meta = read_meta(name, model_slug, root) or {}
        kwargs: dict[str, Any] = selector_kwargs(meta) if name == "selector" else {}
        program = build(name, **kwargs)
        if not path.exists():
            return program, "zero-shot"
        program.load(str(path))
    except (ValueError, KeyError, TypeError) as exc:  # orjson's and json's decode errors are ValueErrors
        raise ProgramLoadError(f"{path}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    return program, f"compiled ({meta.get('optimizer', 'unknown optimizer')})"


def role_status(role: Role, model_slug: str, root: Path) -> str:
    """Which program runs for a role on a model: the compiled one, or zero-shot and what to do."""
    if program_path(role, model_slug, root).exists():
        try:  # a file this code cannot run is not what runs: say so here, not only when a run fails
            _, how = load_program(role, model_slug, root)
        except ProgramLoadError:
            return f"compiled for {model_slug} but it does not load: run `optimize --program {role}`"
        return f"{how} for {model_slug}"
    if any(_inside(root, model_slug, "variants").glob(f"{role}-*.json")):  # compiled, but it did not win on dev
        return (f"zero-shot: nothing active for {model_slug} (compiled variants in {model_slug}/variants did not win "
                "on dev; `optimize` says how to serve one anyway)")  # fmt: skip
    advice = f": run `optimize --program {role}`" if role in COMPILED_ROLES else ""
    return f"zero-shot: nothing compiled for {model_slug}{advice}"


def program_status(root: Path | None = None) -> dict[Role, str]:
    """For each role, the program that runs on its configured model (`role_status`)."""
    folder = root or compiled_dir()
    return {role: role_status(role, endpoint(role).slug, folder) for role in ROLES}


def status_line(root: Path | None = None) -> str:
    """`program_status` on one line, for a server's start, `ask`'s header and `evaluate`'s table,
    naming the agent and the folder read, so a user sees that it is their compile that runs."""
    folder = root or compiled_dir()
    shown = folder.relative_to(PROJECT_ROOT) if folder.is_relative_to(PROJECT_ROOT) else folder
    roles = "; ".join(f"{role} {how}" for role, how in program_status(folder).items())
    return f"programs of agent {agent_config().name} ({shown}): {roles}"


class ProgramCache:
    """Loads each program once per model, and logs once which version runs."""

    def __init__(self, root: Path | None = None) -> None:
        self._root = root
        self._programs: dict[tuple[str, str], dspy.Module] = {}
        self._lock = threading.Lock()

    @property
    def root(self) -> Path:
        """The folder given, else the configured agent's (read when first needed, not at import)."""
        return self._root or compiled_dir()

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
