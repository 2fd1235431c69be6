"""Languages of the public portal: gettext catalogues (Babel ``.po``) and negotiation.

The ``.po`` files under ``locale/`` are the source of truth and are committed; they are compiled
in memory when the app starts (no binary ``.mo`` in the repository). English is the source
language of every message id; Simplified Chinese (``zh``) is the second language.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Final, Literal

from babel import Locale
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from radiotrial.errors import InputFileError

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "Lang",
    "Translator",
    "catalogue",
    "countries",
    "negotiate",
    "translator",
]

Lang = Literal["zh", "en"]
LANGUAGES: Final[tuple[Lang, ...]] = ("zh", "en")
DEFAULT_LANGUAGE: Final[Lang] = "zh"  # the trial site is in Shanghai
_BABEL_LOCALE: Final[dict[Lang, str]] = {"zh": "zh_Hans_CN", "en": "en_GB"}
DOMAIN: Final = "messages"


def catalogue(lang: Lang) -> Catalog:
    """The parsed ``.po`` catalogue of ``lang`` (read fresh; used by tests and tools)."""
    ref = resources.files("radiotrial.web") / "locale" / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    try:
        with ref.open("rb") as fh:
            return read_po(fh, locale=_BABEL_LOCALE[lang], domain=DOMAIN)
    except (OSError, ValueError) as exc:
        raise InputFileError(str(ref), f"cannot read the {lang} catalogue: {exc}") from exc


@dataclass(frozen=True)
class Translator:
    """Compiled translations of one language, with the callables templates use."""

    lang: Lang
    translations: gettext.GNUTranslations

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.translations.ngettext(singular, plural, n)

    @property
    def locale(self) -> Locale:
        return Locale.parse(_BABEL_LOCALE[self.lang])

    @property
    def html_lang(self) -> str:
        """BCP 47 tag for ``<html lang>``."""
        return "zh-Hans" if self.lang == "zh" else "en"

    def callables(self) -> dict[str, Callable[..., str]]:
        return {"gettext": self.gettext, "ngettext": self.ngettext, "_": self.gettext}


@cache
def translator(lang: Lang) -> Translator:
    """Compile ``lang``'s catalogue to an in-memory ``.mo`` and load it (cached per process)."""
    if lang not in LANGUAGES:
        raise InputFileError(f"locale/{lang}", f"unsupported language {lang!r}; use zh or en")
    buffer = io.BytesIO()
    write_mo(buffer, catalogue(lang), use_fuzzy=False)
    buffer.seek(0)
    return Translator(lang, gettext.GNUTranslations(buffer))


def negotiate(accept_language: str | None) -> Lang:
    """The portal language for an ``Accept-Language`` header (RFC 9110 §12.5.4).

    Quality values are honoured; any ``zh`` variant maps to Simplified Chinese, any ``en``
    variant to English; a header with neither gives :data:`DEFAULT_LANGUAGE`.
    """
    if not accept_language:
        return DEFAULT_LANGUAGE
    ranked: list[tuple[float, int, Lang]] = []
    for index, item in enumerate(accept_language.split(",")[:32]):
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        lang = next((candidate for candidate in LANGUAGES if candidate == primary), None)
        if lang is None:
            continue
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((-quality, index, lang))
    return min(ranked)[2] if ranked else DEFAULT_LANGUAGE


@cache
def countries(lang: Lang) -> tuple[tuple[str, str], ...]:
    """ISO 3166-1 alpha-2 codes with their names in ``lang`` (CLDR via Babel), sorted by name."""
    names = Locale.parse(_BABEL_LOCALE[lang]).territories
    pairs = [
        (code, str(name))
        for code, name in names.items()
        if isinstance(code, str)
        and len(code) == 2
        and code.isalpha()
        and code not in _NOT_COUNTRIES
    ]
    return tuple(sorted(pairs, key=lambda item: item[1]))


# CLDR pseudo-territories and groupings that are not places a person lives in
_NOT_COUNTRIES: Final = frozenset({"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"})
