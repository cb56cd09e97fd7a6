"""Token counting with tiktoken, offline.

tiktoken downloads its BPE files on first use, which fails without internet. litellm (a
DSPy dependency) ships `cl100k_base` under the file name tiktoken's cache expects, so we
point TIKTOKEN_CACHE_DIR there unless the user chose a directory.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import tiktoken


def _bundled_cache_dir() -> str | None:
    try:
        import litellm.litellm_core_utils.tokenizers as bundled
    except ImportError:
        return None
    return str(Path(bundled.__file__).parent)


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    if "TIKTOKEN_CACHE_DIR" not in os.environ and (bundled := _bundled_cache_dir()):
        os.environ["TIKTOKEN_CACHE_DIR"] = bundled
    return tiktoken.get_encoding("cl100k_base")


def count_tokens(text: str) -> int:
    return len(encoding().encode(text, disallowed_special=()))
