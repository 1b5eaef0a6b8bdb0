"""Every app keeps its own catalogue (scripts/messages.sh), but Django merges them all, and
Django's own, into one per language: a message two catalogues translate differently shows one
translation everywhere. Each app's Chinese must be what its pages really show."""

from __future__ import annotations

import gettext
from pathlib import Path

from django.utils import translation

ROOT = Path(__file__).resolve().parents[2]
CONTEXT_SEP = "\x04"


def _catalogue_entries(lang: str):
    """(app, context or None, msgid, msgstr) of every translated singular message of every app."""
    for mo in sorted(ROOT.glob(f"*/locale/{lang}/LC_MESSAGES/django.mo")) + sorted(
        ROOT.glob(f"locale/{lang}/LC_MESSAGES/django.mo")
    ):
        app = mo.relative_to(ROOT).parts[0]
        with mo.open("rb") as f:
            catalogue = gettext.GNUTranslations(f)._catalog  # noqa: SLF001 - read the raw entries
        for key, text in catalogue.items():
            if not isinstance(key, str) or not key or not text:
                continue  # plural forms and the header
            context, _sep, msgid = key.rpartition(CONTEXT_SEP)
            yield app, context or None, msgid, text


def test_each_app_shows_its_own_chinese():
    wrong = []
    with translation.override("zh-hans"):
        for app, context, msgid, text in _catalogue_entries("zh_Hans"):
            shown = translation.pgettext(context, msgid) if context else translation.gettext(msgid)
            if shown != text:
                wrong.append(
                    f"{app}: {context + ' | ' if context else ''}{msgid!r} shows {shown!r}, not {text!r}"
                )
    assert not wrong, "\n".join(wrong)
