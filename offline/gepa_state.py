"""GEPA's resume file (`--log-dir`), let back in only when it holds plain data.

GEPA saves its state with `pickle` (`gepa_state.bin`) and reads it back with a bare
`pickle.load` when a run resumes; that format is GEPA's, not ours, so it cannot be swapped for
JSON without forking its state class. What a pickle can do beyond building data, it does by
naming a class or function to call (the GLOBAL/STACK_GLOBAL opcodes), and the state DSPy's GEPA
writes names none: lists, dicts, strings and numbers only. So before GEPA sees the file, it is
read whole by an unpickler that refuses every such name. A planted or foreign file fails here,
before anything in it runs, and the run stops with a clear error; the file is left in place.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

STATE_FILE = "gepa_state.bin"  # the name GEPA's GEPAState.save/load use


class UnsafeGepaState(RuntimeError):
    """A GEPA state file that is not plain data, or not a pickle at all."""


class _PlainDataUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"it names {module}.{name}; GEPA's own state names no class or function")


def check_resume_state(log_dir: Path) -> bool:
    """True if `log_dir` holds a GEPA state that is safe to resume from; False if it holds none.

    Raises UnsafeGepaState, naming the file, for anything else.
    """
    path = log_dir / STATE_FILE
    if not path.exists():
        return False
    try:
        with path.open("rb") as f:
            state = _PlainDataUnpickler(f).load()
    except Exception as exc:  # any failure to read it as plain data is the same refusal
        raise UnsafeGepaState(
            f"{path} is not a GEPA state this project can resume from ({exc}). Nothing in it was run. "
            f"Move it away to start afresh, or give --log-dir a folder your own GEPA run wrote."
        ) from exc
    if not isinstance(state, dict) or "program_candidates" not in state:
        raise UnsafeGepaState(f"{path} holds plain data but not a GEPA state (no program_candidates); move it away")
    return True
