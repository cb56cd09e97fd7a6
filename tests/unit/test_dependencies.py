"""Dependencies: every import is declared, every runtime dependency is bounded, the lock is current.

The lock (requirements.lock, written by `make lock`) is checked here without the network: each
requirement pyproject.toml declares has a pin that satisfies it, and the lock names no direct
requirement pyproject.toml dropped. `make lock-check` (CI, .ci/run) also resolves again against
the index and compares the versions.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from runtime.settings import PROJECT_ROOT

PYPROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
LOCK = PROJECT_ROOT / "requirements.lock"
PRODUCT = ["offline", "serving", "graphs", "nodes", "agent_types", "dspy_programs", "tools", "runtime"]
SUPPORT = ["testkit", "tests", "benchmarks", "datasets"]
# The extras `make install` installs and the lock covers (the Makefile's EXTRAS).
LOCKED_EXTRAS = ["serve", "dev", "postgres", "plot"]
# Product modules that may import an optional extra, and which one: they are optional features.
OPTIONAL_IN_PRODUCT = {
    "psycopg": "postgres", "psycopg_pool": "postgres", "matplotlib": "plot", "langgraph_api": "serve",
}


def requirements(extras: list[str]) -> list[Requirement]:
    project = PYPROJECT["project"]
    specs = list(project["dependencies"])
    for extra in extras:
        specs += project["optional-dependencies"][extra]
    return [Requirement(spec) for spec in specs]


def declared(extras: list[str]) -> set[str]:
    """Distributions pyproject.toml names, with those its requirements' own extras bring (psycopg[pool])."""
    names: set[str] = set()
    for req in requirements(extras):
        names.add(canonicalize_name(req.name))
        for spec in metadata.requires(req.name) or [] if req.extras else []:
            sub = Requirement(spec)
            if sub.marker and any(sub.marker.evaluate({"extra": extra}) for extra in req.extras):
                names.add(canonicalize_name(sub.name))
    return names


def lock_pins() -> dict[str, tuple[str, str]]:
    """name -> (version, marker) for every pin in requirements.lock."""
    pins: dict[str, tuple[str, str]] = {}
    for line in LOCK.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^ ;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$", line)
        if match:
            pins[canonicalize_name(match.group(1))] = (match.group(2), (match.group(3) or "").strip())
    return pins


def direct_in_lock() -> set[str]:
    """Packages the lock says pyproject.toml asks for (uv's `# via dspy-langgraph-template (pyproject.toml)`)."""
    names: set[str] = set()
    current: str | None = None
    for line in LOCK.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", line)
        if match:
            current = canonicalize_name(match.group(1))
        elif current and "(pyproject.toml)" in line:
            names.add(current)
    return names


def imported_modules(folders: list[str]) -> dict[str, set[str]]:
    """Top-level module name -> files importing it (absolute imports only)."""
    found: dict[str, set[str]] = {}
    for folder in folders:
        for path in (PROJECT_ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                names = []
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                for name in names:
                    found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(PROJECT_ROOT)))
    return found


def first_party() -> set[str]:
    return {p.name for p in PROJECT_ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()} | {"make_splits"}


def undeclared(folders: list[str], declared: set[str]) -> dict[str, set[str]]:
    providers = packages_distributions()
    skip = set(sys.stdlib_module_names) | first_party() | {"__future__"}
    missing = {}
    for module, files in imported_modules(folders).items():
        if module in skip:
            continue
        dists = {canonicalize_name(d) for d in providers.get(module, [])}
        if not dists & declared:
            missing[module] = files
    return missing


def test_product_imports_are_runtime_dependencies() -> None:
    missing = undeclared(PRODUCT, declared([]))
    optional = {module: files for module, files in missing.items() if module in OPTIONAL_IN_PRODUCT}
    assert missing.keys() == optional.keys(), f"imported, not in [project].dependencies: { {**missing} }"
    for module in optional:
        extra = OPTIONAL_IN_PRODUCT[module]
        providers = {canonicalize_name(d) for d in packages_distributions()[module]}
        assert providers & declared([extra]), f"{module} is not in the {extra} extra"


def test_support_imports_are_declared() -> None:
    assert not undeclared(SUPPORT, declared(LOCKED_EXTRAS))


def test_every_runtime_dependency_is_imported() -> None:
    """A runtime dependency the application does not import is dropped, or moved to the extra that uses it."""
    providers = packages_distributions()
    imported = {canonicalize_name(d) for m in imported_modules(PRODUCT) for d in providers.get(m, [])}
    unused = [r.name for r in requirements([]) if canonicalize_name(r.name) not in imported]
    assert not unused, f"declared in [project].dependencies, not imported by the application: {unused}"


def test_every_runtime_dependency_has_an_upper_bound() -> None:
    for req in requirements(["serve", "postgres", "plot"]):
        if any(s.operator == "==" for s in req.specifier):
            continue
        assert any(s.operator in ("<", "<=", "~=") for s in req.specifier), f"{req} has no upper bound"


def test_lock_pins_every_requirement_within_its_bounds() -> None:
    pins = lock_pins()
    assert len(pins) > 50
    for req in requirements(LOCKED_EXTRAS):
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not in requirements.lock: run `make lock`"
        version = pins[name][0]
        assert req.specifier.contains(version, prereleases=True), (
            f"requirements.lock pins {req.name}=={version}, outside {req.specifier}: run `make lock`"
        )


def test_lock_holds_no_dropped_requirement_and_every_pin_is_hashed() -> None:
    wanted = {canonicalize_name(r.name) for r in requirements(LOCKED_EXTRAS)}
    assert direct_in_lock() == wanted, "requirements.lock and pyproject.toml differ: run `make lock`"
    blocks = re.split(r"\n(?=[A-Za-z0-9])", LOCK.read_text().split("\n", 2)[2])
    for block in blocks:
        assert "--hash=sha256:" in block, f"no hash for {block.splitlines()[0]}"


def test_makefile_installs_from_the_lock_with_hashes_and_builds_no_model() -> None:
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    extras = re.search(r"^EXTRAS := (.+)$", makefile, re.M)
    assert extras and extras.group(1).split() == LOCKED_EXTRAS
    dry = subprocess.run(["make", "-n", "up", "VENV=/nonexistent-venv"], cwd=PROJECT_ROOT, capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    assert "--require-hashes -r requirements.lock" in dry
    assert "--no-deps -e ." in dry
    assert "llama_server" not in dry and "llama-server" not in dry, "install must not build the local model"


def test_installed_environment_is_consistent() -> None:
    result = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_evaluate_writes_its_tables_without_matplotlib(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from offline import evaluate

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` raises ImportError
    monkeypatch.delattr(evaluate.plot, "noted", raising=False)
    rows = [{"variant": "v", "exact_tool_set": 0.5, "argument_accuracy": 0.5, "n": 2}]
    evaluate.plot(rows, tmp_path / "a.png")
    evaluate.plot(rows, tmp_path / "b.png")
    assert not list(tmp_path.iterdir())
    assert capsys.readouterr().err.count("matplotlib is not installed") == 1
