"""One translation layer for templates and JS: ``web/translations/<lang>.json``.

Templates call ``t("key")``; pages hand the same catalog to the ES modules as JSON,
so a string is translated in exactly one place. Vietnamese is the default; a key
missing in one language falls back to English, then to the key itself.
"""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp.web import AppKey

import web

LANGUAGES = ("vi", "en")
TRANSLATIONS_DIR = Path(web.__file__).parent / "translations"


class Translations:
    def __init__(self, directory: Path = TRANSLATIONS_DIR) -> None:
        self.messages: dict[str, dict[str, str]] = {
            lang: json.loads((directory / f"{lang}.json").read_text(encoding="utf-8"))
            for lang in LANGUAGES
        }

    def gettext(self, language: str, key: str, **params: object) -> str:
        text = self.messages.get(language, {}).get(key) or self.messages["en"].get(key) or key
        return text.format(**params) if params else text

    def for_language(self, language: str) -> dict[str, str]:
        merged = dict(self.messages["en"])
        merged.update(self.messages.get(language, {}))
        return merged


TRANSLATIONS: AppKey[Translations] = AppKey("translations")
