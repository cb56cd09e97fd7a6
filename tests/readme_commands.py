"""The commands in README.md's bash blocks, and how a test checks each one.

Every command runs as written (tests/e2e/test_readme_commands.py), in README order, on a fresh
copy of the checkout, unless INSTEAD says what runs in its place (a server that never returns,
hours of compute, Docker) or SKIP says why nothing can. A README command that cannot run in a
test gets an entry here, with its reason; an entry that matches no README command fails
tests/unit/test_readme.py, so the tables cannot outlive the README.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

from runtime.settings import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"

# Regular expression matched against the whole command (its trailing comment removed) ->
# (what runs instead, why). `{venv}` is the checkout's `.venv/bin`.
INSTEAD: dict[str, tuple[str, str]] = {
    r"make up": ("make -n up", "serves until stopped; the dry run shows it installs from the lock and runs agent-up "
                 "(tests/integration/test_hosted_fast_path.py runs agent-up itself)"),
    r"make test": ("make -n test", "the whole suite, of which this test is part: CI (.ci/run) runs it"),
    r"\.venv/bin/langgraph build .*": ("{venv}/langgraph build --help", "needs Docker"),
    r"\.venv/bin/langgraph up .*": ("{venv}/langgraph up --help", "needs Docker"),
    r"\.venv/bin/optimize": ("{venv}/optimize --help", "minutes of model time on the example's rows: "
                             "tests/e2e/test_make_it_yours.py runs the walkthrough on a small budget"),
    r"\.venv/bin/agent-up": ("{venv}/agent-up --help", "serves until stopped (tests/e2e/test_make_it_yours.py "
                             "serves the example agent)"),
}  # fmt: skip
# Regular expression -> why the command is not run at all.
SKIP: dict[str, str] = {}


@dataclass(frozen=True)
class Command:
    text: str  # as written, continuation lines joined
    line: int  # README line where it starts
    block: int = 0  # which bash block it is in: a block runs in one shell, as a user pastes it

    @property
    def bare(self) -> str:
        """The command without its trailing comment."""
        return re.sub(r"\s+#\s.*$", "", self.text).strip()


def readme_commands(text: str | None = None) -> list[Command]:
    """Every command of the README's ```bash blocks (indented ones too), in order."""
    text = README.read_text() if text is None else text
    commands = []
    for number, block in enumerate(re.finditer(r"^([ \t]*)```bash\n(.*?)^[ \t]*```", text, re.M | re.S)):
        start = text.count("\n", 0, block.start(2)) + 1
        lines = textwrap.dedent(block.group(2)).splitlines()
        i = 0
        while i < len(lines):
            first = i
            parts = [lines[i]]
            while parts[-1].rstrip().endswith("\\") and i + 1 < len(lines):
                i += 1
                parts.append(lines[i])
            i += 1
            joined = " ".join(p.rstrip().removesuffix("\\").strip() for p in parts).strip()
            if joined and not joined.startswith("#"):
                commands.append(Command(joined, start + first, number))
    return commands


def plan(command: Command) -> tuple[str, str | None, str | None]:
    """(what to run, why it differs from the README or None, why it is skipped or None)."""
    for pattern, reason in SKIP.items():
        if re.fullmatch(pattern, command.bare):
            return "", None, reason
    for pattern, (instead, reason) in INSTEAD.items():
        if re.fullmatch(pattern, command.bare):
            return instead, reason, None
    return command.text, None, None


def used_patterns(commands: list[Command]) -> set[str]:
    return {p for p in [*INSTEAD, *SKIP] for c in commands if re.fullmatch(p, c.bare)}


def relative_links(text: str | None = None) -> list[str]:
    """Paths the README links to inside the repository (anchors dropped)."""
    text = README.read_text() if text is None else text
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    return [t.split("#")[0] for t in targets if not re.match(r"[a-z]+:", t) and not t.startswith("#")]


def exists(link: str) -> bool:
    return (PROJECT_ROOT / Path(link)).exists()
