"""GEPA's resume file (`--log-dir`): let in only as plain data, and loaded from the very bytes that were checked.

GEPA saves its state with `pickle` (`gepa_state.bin`) and reads it back with a bare
`pickle.load` when a run resumes; that format is GEPA's, not ours, so it cannot be swapped for
JSON without forking its state class. What a pickle can do beyond building data, it does by
naming a class or function to call (the GLOBAL/STACK_GLOBAL opcodes), and the state DSPy's GEPA
writes names none: lists, dicts, strings and numbers only. So the file is read by an unpickler
that refuses every such name, and its candidates must be plain instruction texts. A planted or
foreign file fails here, before anything in it runs, and the run stops with a clear error; the
file is left in place.

Checking the file and then letting GEPA open it again would leave a gap (a file swapped between
the two reads would be unpickled by GEPA's unrestricted loader). `use_checked_loader` closes it:
GEPA's `GEPAState.load` is replaced by one that reads the file once, checks those bytes, and
hands GEPA's own loader a private copy of the checked data. The state a resumed run sees is
still data someone wrote to the log folder: resume only from a folder your own GEPA run wrote.
"""

from __future__ import annotations

import io
import pickle
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

STATE_FILE = "gepa_state.bin"  # the name GEPA's GEPAState.save/load use


class UnsafeGepaState(RuntimeError):
    """A GEPA state file that is not plain data, or not a pickle at all."""


class _PlainDataUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"it names {module}.{name}; GEPA's own state names no class or function")


def _plain_state(data: bytes, path: Path) -> dict[str, Any]:
    """The state in `data` (the bytes of `path`), or UnsafeGepaState naming the file."""
    try:
        state = _PlainDataUnpickler(io.BytesIO(data)).load()
    except Exception as exc:  # any failure to read it as plain data is the same refusal
        raise UnsafeGepaState(
            f"{path} is not a GEPA state this project can resume from ({exc}). Nothing in it was run. "
            f"Move it away to start afresh, or give --log-dir a folder your own GEPA run wrote."
        ) from exc
    if not isinstance(state, dict) or "program_candidates" not in state:
        raise UnsafeGepaState(f"{path} holds plain data but not a GEPA state (no program_candidates); move it away")
    candidates = state["program_candidates"]
    if not isinstance(candidates, list) or not all(
        isinstance(c, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in c.items()) for c in candidates
    ):
        raise UnsafeGepaState(f"{path}: its program_candidates are not instruction texts (name -> text); move it away")
    return state


def check_resume_state(log_dir: Path) -> bool:
    """True if `log_dir` holds a GEPA state that is safe to resume from; False if it holds none.

    Raises UnsafeGepaState, naming the file, for anything else.
    """
    path = log_dir / STATE_FILE
    if not path.exists():
        return False
    _plain_state(path.read_bytes(), path)
    return True


_original_load: Callable[[str], Any] | None = None


def _checked_load(run_dir: str) -> Any:
    """GEPAState.load, reading the file once and loading exactly the data that passed the check."""
    assert _original_load is not None
    path = Path(run_dir) / STATE_FILE
    state = _plain_state(path.read_bytes(), path)
    with tempfile.TemporaryDirectory(prefix="gepa-checked-") as private:  # mode 0700: only this user
        (Path(private) / STATE_FILE).write_bytes(pickle.dumps(state))  # re-serialized checked plain data
        return _original_load(private)


def use_checked_loader() -> None:
    """Make GEPA load its resume file only through the check (idempotent). Why a patch: GEPA's
    loader is a static method with a bare pickle.load and no hook for another reader."""
    global _original_load
    from gepa.core.state import GEPAState

    if _original_load is None:
        _original_load = GEPAState.load
        GEPAState.load = staticmethod(_checked_load)  # type: ignore[method-assign]
