"""Maintain the gettext catalogues: extract every message id and merge it into the ``.po`` files.

Message ids come from three places: ``_()``/``N_()`` calls in this package's Python, the Jinja
templates, and the protocol free text shown on the public pages
(:func:`radiotrial.web._facts.protocol_texts`). Run after changing any of them::

    python -m radiotrial.web._catalog

then translate the new (empty) entries; the test suite fails on any untranslated or fuzzy one.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import write_po

from radiotrial.protocol import bundled_protocol
from radiotrial.web._facts import protocol_texts, public_facts
from radiotrial.web._i18n import DOMAIN, LANGUAGES, catalogue

__all__ = ["extract", "main", "update"]

PACKAGE_DIR = Path(__file__).resolve().parent
METHOD_MAP = [("**.py", "python"), ("templates/**.html", "jinja2")]
OPTIONS_MAP = {"templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "false"}}


def extract() -> Catalog:
    """A template catalogue of every message id the portal shows."""
    template = Catalog(project="radiotrial", domain=DOMAIN, fuzzy=False)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(PACKAGE_DIR), METHOD_MAP, OPTIONS_MAP
    ):
        if filename.startswith("_catalog"):
            continue
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    for text in protocol_texts(public_facts(bundled_protocol())):
        template.add(text, None, [("protocol", 0)], auto_comments=["protocol free text"])
    return template


def update() -> dict[str, int]:
    """Merge the extracted ids into each language's ``.po``; return the untranslated counts."""
    template = extract()
    missing: dict[str, int] = {}
    for lang in LANGUAGES:
        cat = catalogue(lang)
        cat.update(template, update_header_comment=False, no_fuzzy_matching=True)
        cat.revision_date = datetime.now(UTC)
        if lang == "en":  # English is the source language: its translation is the id itself
            for msg in cat:
                if msg.id and msg.pluralizable and not all(msg.string or ()):
                    msg.string = tuple(msg.id)
                elif msg.id and not msg.string:
                    msg.string = msg.id
        path = PACKAGE_DIR / "locale" / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
        tmp = path.with_suffix(".po.tmp")
        with tmp.open("wb") as fh:
            write_po(fh, cat, width=100, omit_header=False, ignore_obsolete=True)
        tmp.replace(path)
        missing[lang] = sum(
            1
            for m in cat
            if m.id and (not m.string or (isinstance(m.string, tuple) and not all(m.string)))
        )
    return missing


def main() -> int:
    missing = update()
    for lang, count in missing.items():
        print(f"{lang}: {count} untranslated")
    return 1 if any(missing.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
