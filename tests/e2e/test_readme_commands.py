"""Every command in README.md's bash blocks runs, as written, on a fresh copy of the checkout.

The copy holds the tracked files only (what a clone holds, with uncommitted edits), and its
`.venv` is this interpreter's environment, as `make install` would have made it. Commands run in
README order in one shell each, from the copy's root, against the real embedded model; the ones
that cannot run in a test run what tests/readme_commands.py's INSTEAD says, or are skipped (SKIP),
each with its reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.settings import PROJECT_ROOT
from tests.readme_commands import plan, readme_commands

pytestmark = pytest.mark.e2e
TIMEOUT_S = 600


def fresh_copy(dest: Path) -> Path:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=PROJECT_ROOT, capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = PROJECT_ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    (dest / ".venv").symlink_to(sys.prefix)
    return dest


def test_every_readme_command_runs(local_model: None, tmp_path: Path) -> None:
    checkout = fresh_copy(tmp_path / "checkout")
    env = {**os.environ, "PYTHONPATH": str(checkout), "LANGSMITH_TRACING": "false"}
    venv = str(checkout / ".venv" / "bin")
    failures, report = [], []
    commands = readme_commands()
    for block in sorted({c.block for c in commands}):
        # One shell a block, as a user pastes it: an `export` holds for the commands after it.
        script, shown = [], []
        for command in (c for c in commands if c.block == block):
            run, instead_reason, skip_reason = plan(command)
            if skip_reason:
                report.append(f"README:{command.line} skipped ({skip_reason}): {command.text}")
                continue
            run = run.replace("{venv}", venv)
            script += [run, f'echo "README:{command.line} exit $?" >&3']
            shown.append((command, run, instead_reason))
        if not shown:
            continue
        codes = tmp_path / f"block-{block}.codes"
        result = subprocess.run(["bash", "-c", f"exec 3>{codes}\n" + "\n".join(script)], cwd=checkout, env=env,
                                capture_output=True, text=True, timeout=TIMEOUT_S)  # fmt: skip
        exits = dict(line.rsplit(" exit ", 1) for line in codes.read_text().splitlines())
        for command, run, instead_reason in shown:
            code = exits.get(f"README:{command.line}", "not reached")
            note = f" instead ({instead_reason})" if instead_reason else ""
            report.append(f"README:{command.line} exit {code}: {run}{note}")
            if code != "0":
                failures.append(f"README:{command.line} `{run}` exited {code}:\n{result.stderr[-2000:]}")
    print("\n".join(report))
    assert not failures, "\n\n".join(failures)
