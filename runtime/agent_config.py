"""The description of "my agent" (tools, labeled rows, models, teacher), read from `agent.toml`.

`agent.toml` sits beside `langgraph.json`; `AGENT_CONFIG` names another one (the example agents
under `examples/` each have their own). The served graph, `optimize`, `evaluate`, `draft-rows` and
`datasets/check.py` all read it through `agent_config()`. Paths in the file are relative to it.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import tomllib
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from runtime.settings import PROJECT_ROOT, ROLES


class AgentConfigError(ValueError):
    """agent.toml cannot be read, or names tools that cannot be imported: one line says which."""


class AgentConfig(BaseModel):
    """What `agent.toml`'s `[agent]` table may hold (unknown keys are refused: a typo is an error)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "template"
    tools: str = Field("tools:TOOLS", description="import path `module:attribute` of a list of LangChain tools")
    data: str = Field("datasets/tool_selection.jsonl", description="labeled rows: a .jsonl file or a folder of them")
    toolsets: str = Field("", description="optional JSON file of other named tool sets rows may use (`toolset`)")
    compiled: str = Field("dspy_programs/compiled", description="where compiled programs are saved, per model")
    models: dict[str, str] = Field(default_factory=dict, description="model per role; environment variables win")
    teacher: str = Field("", description="a stronger model that proposes, reflects and bootstraps for `optimize`")
    teacher_base_url: str = Field("", description="the teacher's OpenAI-compatible endpoint (default: the serving one)")
    # The directory of the file, which relative paths are resolved against (set when read).
    root: Path = PROJECT_ROOT

    def path(self, value: str) -> Path:
        return (self.root / value).resolve()

    @property
    def data_path(self) -> Path:
        return self.path(self.data)

    @property
    def toolsets_path(self) -> Path | None:
        return self.path(self.toolsets) if self.toolsets else None

    @property
    def compiled_dir(self) -> Path:
        return self.path(self.compiled)

    def role_model(self, role: str) -> str | None:
        return self.models.get(role) or None

    def teacher_model(self) -> str | None:
        """TEACHER_MODEL wins over the file's `teacher`; none means the student teaches itself."""
        return os.environ.get("TEACHER_MODEL") or self.teacher or None

    def teacher_url(self) -> str | None:
        return os.environ.get("TEACHER_BASE_URL") or self.teacher_base_url or None


def config_path() -> Path:
    """AGENT_CONFIG, else ./agent.toml, else the template's own agent.toml."""
    return _resolved(os.environ.get("AGENT_CONFIG"))


# Once per AGENT_CONFIG value: the nodes read the configuration on the server's event loop, where
# looking at the working directory or the file system is a blocking call.
@lru_cache(maxsize=8)
def _resolved(named: str | None) -> Path:
    if named:  # relative to the working directory, else to the project (`agent-up` serves from there)
        path = Path(named)
        return path.resolve() if path.is_absolute() or path.exists() else (PROJECT_ROOT / path).resolve()
    here = Path.cwd() / "agent.toml"
    return here.resolve() if here.exists() else PROJECT_ROOT / "agent.toml"


def read_config(path: Path) -> AgentConfig:
    if not path.exists():
        raise AgentConfigError(f"{path}: no such agent description (AGENT_CONFIG names it)")
    try:
        table: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8")).get("agent", {})
        unknown_roles = set(table.get("models", {})) - set(ROLES)
        if unknown_roles:
            raise AgentConfigError(f"{path}: [agent.models] has unknown roles {sorted(unknown_roles)}; "
                                   f"roles: {', '.join(ROLES)}")  # fmt: skip
        return AgentConfig(**table, root=path.parent.resolve())
    except tomllib.TOMLDecodeError as exc:
        raise AgentConfigError(f"{path}: not valid TOML: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise AgentConfigError(f"{path}: [agent] {where}: {first['msg']}") from None


@lru_cache(maxsize=8)
def _cached(path: Path) -> AgentConfig:
    return read_config(path)


def agent_config() -> AgentConfig:
    """The configured agent (read once per file)."""
    return _cached(config_path())


def load_tools(config: AgentConfig | None = None) -> list[Any]:
    """The configured LangChain tools: `tools` is `path/to/file.py:NAME` (relative to agent.toml, as
    langgraph.json names its graph) or an import path `package.module:NAME`.

    The agent's folder and the project root are put on sys.path first, as `python -m` would, so a
    tools module beside the user's agent.toml imports without installing it.
    """
    cfg = config or agent_config()
    target, _, attr = cfg.tools.partition(":")
    for root in (str(cfg.root), str(PROJECT_ROOT)):
        if root not in sys.path:
            sys.path.append(root)
    try:
        if target.endswith(".py"):
            file = cfg.path(target)
            spec = importlib.util.spec_from_file_location(f"agent_tools_{file.stem}", file)
            if spec is None or spec.loader is None or not file.exists():
                raise ImportError(f"no such file {file}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[spec.name] = module
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(target)
        tools = getattr(module, attr or "TOOLS")
    except (ImportError, AttributeError) as exc:
        raise AgentConfigError(f"agent tools {cfg.tools!r} cannot be loaded: {exc}") from None
    if not isinstance(tools, Sequence) or not tools:
        raise AgentConfigError(f"agent tools {cfg.tools!r} is not a non-empty list of tools")
    return list(tools)
