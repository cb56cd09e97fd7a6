"""A BM25 index over a folder of markdown files, chunked by `##` section."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from rank_bm25 import BM25Okapi

MAX_PASSAGE_CHARS: Final = 800

_STOPWORD_TEXT: Final = """
    a about above after again all also am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her
    here hers him his how i if in into is it its itself just me more most my no nor not now of off on once
    only or other our ours out over own same she should so some such than that the their theirs them then
    there these they this those through to too under until up very was we were what when where which while
    who whom why will with would you your yours
"""
STOPWORDS: Final = frozenset(_STOPWORD_TEXT.split())

_WORD: Final = re.compile(r"[^\W_]+")
_HEADING: Final = re.compile(r"(#{1,6})\s+(.*?)\s*#*\s*")
_FENCE: Final = re.compile(r"\s*(```|~~~)")
# Longest suffix first; the replacement keeps "policies" and "policy" on the same stem.
_SUFFIXES: Final = (("ies", "y"), ("ing", ""), ("ed", ""), ("ly", ""), ("s", ""))
_KEEP_ENDINGS: Final = ("ss", "us", "is")


def stem(word: str) -> str:
    """A deliberately tiny stemmer: queries and documents only need to agree with each other."""
    if len(word) <= 3 or word.isdigit() or word.endswith(_KEEP_ENDINGS):
        return word
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            base = word[: -len(suffix)] + replacement
            # "shipping" -> "shipp" -> "ship", to meet "ship" and "shipped".
            if not replacement and len(base) > 3 and base[-1] == base[-2] and base[-1] not in "lsz":
                base = base[:-1]
            return base
    return word


def tokenize(text: str) -> list[str]:
    return [stem(word) for word in _WORD.findall(text.lower()) if word not in STOPWORDS]


def slugify(heading: str) -> str:
    """GitHub-style anchor, so `file.md#section` links resolve when the corpus is browsed."""
    kept = re.sub(r"[^\w\s-]", "", heading.lower())
    return re.sub(r"\s+", "-", kept.strip())


@dataclass(frozen=True)
class Passage:
    source: str
    title: str
    text: str


@dataclass(frozen=True)
class _Section:
    anchor: str
    heading: str
    body: str


def _split_sections(markdown: str) -> tuple[str, list[_Section]]:
    """Return the document title and its sections; text before the first `##` is an unnamed section."""
    title = ""
    sections: list[_Section] = []
    heading, in_fence = "", False
    lines: list[str] = []
    anchors: dict[str, int] = {}

    def flush() -> None:
        body = "\n".join(lines).strip()
        if body:
            anchor = slugify(heading) if heading else ""
            if anchor:
                seen = anchors.get(anchor, 0)
                anchors[anchor] = seen + 1
                anchor = f"{anchor}-{seen}" if seen else anchor
            sections.append(_Section(anchor, heading, body))

    for line in markdown.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.fullmatch(line)
        if match and len(match.group(1)) == 1 and not title:
            title = match.group(2)
            continue
        if match and len(match.group(1)) == 2:
            flush()
            heading, lines = match.group(2), []
            continue
        lines.append(line)
    flush()
    return title, sections


def _pieces(body: str, limit: int = MAX_PASSAGE_CHARS) -> list[str]:
    """Pack paragraphs (then lines, then hard cuts) into pieces of at most `limit` characters."""
    units: list[str] = []
    for block in re.split(r"\n\s*\n", body):
        block = block.strip()
        if len(block) <= limit:
            units.append(block)
            continue
        for line in block.splitlines():
            units.extend(line[i : i + limit] for i in range(0, len(line), limit))
    pieces: list[str] = []
    current = ""
    for unit in filter(None, units):
        joined = f"{current}\n\n{unit}" if current else unit
        if len(joined) <= limit:
            current = joined
        else:
            pieces.append(current)
            current = unit
    if current:
        pieces.append(current)
    return pieces


def chunk_markdown(filename: str, markdown: str) -> list[Passage]:
    doc_title, sections = _split_sections(markdown)
    doc_title = doc_title or Path(filename).stem.replace("_", " ")
    passages: list[Passage] = []
    for section in sections:
        source = f"{filename}#{section.anchor}" if section.anchor else filename
        title = f"{doc_title} — {section.heading}" if section.heading else doc_title
        passages.extend(Passage(source, title, piece) for piece in _pieces(section.body))
    return passages


@dataclass(frozen=True)
class _Built:
    passages: list[Passage]
    bm25: BM25Okapi | None


class KnowledgeIndex:
    """Lazily indexes `corpus_dir/*.md` on first search; later searches reuse the index."""

    def __init__(self, corpus_dir: Path) -> None:
        self.corpus_dir = Path(corpus_dir)
        self._lock = threading.Lock()
        self._built: _Built | None = None

    def _build(self) -> _Built:
        passages: list[Passage] = []
        for path in sorted(self.corpus_dir.glob("*.md")):
            passages.extend(chunk_markdown(path.name, path.read_text(encoding="utf-8", errors="replace")))
        corpus = [tokenize(f"{p.title}\n{p.text}") for p in passages]
        # BM25Okapi divides by the corpus size, so an empty folder gets no model at all.
        bm25 = BM25Okapi(corpus) if passages else None
        return _Built(passages, bm25)

    def _index(self) -> _Built:
        built = self._built
        if built is None:
            with self._lock:
                if self._built is None:
                    self._built = self._build()
                built = self._built
        return built

    @property
    def passages(self) -> list[Passage]:
        return list(self._index().passages)

    def search(self, query: str, top_k: int = 3) -> list[Passage]:
        """Best `top_k` passages sharing at least one term with the query, best first."""
        built = self._index()
        terms = tokenize(query)
        if built.bm25 is None or not terms:
            return []
        scores = built.bm25.get_scores(terms)
        ranked = sorted(range(len(built.passages)), key=lambda i: (-scores[i], i))
        return [built.passages[i] for i in ranked[:top_k] if scores[i] > 0]
