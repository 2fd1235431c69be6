"""Server-side rendering: one Jinja2 environment with autoescaping and gettext."""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import format_decimal
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from radiotrial.protocol import PatientText
from radiotrial.web._i18n import DEFAULT_LANGUAGE, LANGUAGES, Lang, Translator, translator

__all__ = ["Renderer", "language_of_path"]

_current: ContextVar[Translator] = ContextVar("radiotrial_web_translator")


def _gettext(message: str) -> str:
    return _current.get().gettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return _current.get().ngettext(singular, plural, n)


def language_of_path(path: str) -> Lang | None:
    """``zh`` or ``en`` when ``path`` starts with a language prefix."""
    head = path.lstrip("/").split("/", 1)[0]
    for lang in LANGUAGES:
        if head == lang:
            return lang
    return None


class Renderer:
    """Render package templates in a language; every variable is HTML-escaped by default."""

    def __init__(self) -> None:
        env = Environment(
            loader=PackageLoader("radiotrial.web", "templates"),
            autoescape=select_autoescape(["html", "xml"], default_for_string=True),
            undefined=StrictUndefined,
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
        )
        # newstyle gettext: %(name)s placeholders are filled and escaped by Jinja itself
        env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]
        env.filters["ptext"] = _gettext  # protocol free text, translated by the catalogue
        env.filters["local"] = self._local  # patient information: both languages in the protocol
        env.filters["number"] = self._number
        env.filters["datetime"] = self._datetime
        env.filters["when"] = self._when
        self.env = env

    @staticmethod
    def _local(text: PatientText) -> str:
        return text.zh if _current.get().lang == "zh" else text.en

    @staticmethod
    def _number(value: float, digits: int = 2) -> str:
        tr = _current.get()
        return format_decimal(round(value, digits), locale=tr.locale)

    @staticmethod
    def _datetime(value: datetime, fmt: str = "medium") -> str:
        tr = _current.get()
        return format_datetime(value, fmt, locale=tr.locale)

    @staticmethod
    def _when(value: datetime | None, zone: str) -> str:
        """``value`` on the clock of ``zone`` (the site's), with the zone named."""
        if value is None:
            return ""
        tr = _current.get()
        local = format_datetime(value, "short", tzinfo=ZoneInfo(zone), locale=tr.locale)
        return f"{local} ({zone})"

    def render_text(self, lang: Lang, name: str, context: Mapping[str, Any]) -> str:
        token = _current.set(translator(lang))
        try:
            return self.env.get_template(name).render(**context)
        finally:
            _current.reset(token)

    def response(
        self,
        request: Request,
        lang: Lang | None,
        name: str,
        context: Mapping[str, Any] | None = None,
        *,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        """Render ``name`` for ``request`` in ``lang`` (default: the site's language)."""
        lang = lang or DEFAULT_LANGUAGE
        tr = translator(lang)
        path = request.url.path
        rest = path.split("/", 2)[2] if language_of_path(path) else ""
        switch = {other: f"/{other}/{rest}" for other in LANGUAGES}
        ctx = {
            "request": request,
            "lang": lang,
            "html_lang": tr.html_lang,
            "switch": switch,
            "path": path,
            **(context or {}),
        }
        return HTMLResponse(
            self.render_text(lang, name, ctx), status_code=status_code, headers=headers
        )
