"""The ICD-10 codes a note may carry: a list we ship (icd10.tsv), searchable by code
or by words of either language, accents ignored ("viem phoi" finds "Viêm phổi")."""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class Code:
    code: str
    vi: str
    en: str

    def title(self, language: str) -> str:
        return self.en if language == "en" else self.vi


def fold(text: str) -> str:
    """Lower case without accents (đ as d), for matching what people type."""
    decomposed = unicodedata.normalize("NFD", text.casefold().replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@functools.cache
def codes() -> dict[str, Code]:
    text = resources.files(__package__).joinpath("icd10.tsv").read_text(encoding="utf-8")
    found: dict[str, Code] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        code, vi, en = line.split("\t")
        found[code] = Code(code, vi, en)
    return found


def search(query: str, limit: int = 20) -> list[Code]:
    """Codes whose code starts with, or whose titles contain every word of, ``query``."""
    words = fold(query).split()
    if not words:
        return []
    hits = []
    for code in codes().values():
        text = fold(f"{code.code} {code.vi} {code.en}")
        if fold(code.code).startswith(words[0]) or all(w in text for w in words):
            hits.append(code)
    return hits[:limit]
