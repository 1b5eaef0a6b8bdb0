"""Project-wide guards: migrations match the models, every app keeps the skeleton, and every
translation catalogue is complete and compiled (Chinese first)."""

from __future__ import annotations

import ast
import gettext
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parent.parent / "urbangrid"
DOMAIN_APPS = ["geo", "catalog", "orgs", "cases", "patrol", "joint", "credit", "evaluation"]
SKELETON = [
    "models.py",
    "choices.py",
    "actions.py",
    "queries.py",
    "api.py",
    "views.py",
    "urls.py",
    "admin.py",
]


@pytest.mark.django_db
def test_migrations_match_models():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.parametrize("app", DOMAIN_APPS)
def test_every_domain_app_has_the_skeleton(app):
    missing = [name for name in SKELETON if not (ROOT / app / name).exists()]
    assert not missing, f"{app} lacks {missing}"
    assert (ROOT / app / "tests").is_dir()


def parse_po(path: Path) -> list[tuple[str, str, bool]]:
    """(msgid, msgstr, fuzzy) for every entry except the header; plural forms use msgstr[0]."""
    entries, fuzzy, current, field = [], False, {}, None

    def flush():
        nonlocal current, fuzzy
        if "msgid" in current and current["msgid"]:
            # gettext stores a context entry under "context\x04msgid".
            key = f"{current['msgctxt']}\x04{current['msgid']}" if "msgctxt" in current else current["msgid"]
            entries.append((key, current.get("msgstr", ""), fuzzy))
        current, fuzzy = {}, False

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            flush()
            continue
        if line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
        if line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            current[field] += ast.literal_eval(line)
            continue
        if keyword in ("msgid", "msgstr", "msgstr[0]", "msgid_plural", "msgctxt"):
            field = "msgstr" if keyword == "msgstr[0]" else keyword
            current[field] = ast.literal_eval(rest)
        elif keyword.startswith("msgstr["):
            field = "_other_plural"
            current[field] = ast.literal_eval(rest)
    flush()
    return entries


CATALOGUES = sorted(ROOT.glob("**/locale/zh_Hans/LC_MESSAGES/*.po"))


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda p: str(p.relative_to(ROOT)))
def test_chinese_catalogue_complete_and_compiled(po):
    entries = parse_po(po)
    untranslated = [msgid for msgid, msgstr, fuzzy in entries if not msgstr or fuzzy]
    assert not untranslated, f"{po}: {len(untranslated)} untranslated/fuzzy, e.g. {untranslated[:5]}"
    mo = po.with_suffix(".mo")
    assert mo.exists(), f"{mo} missing: run scripts/messages.sh"
    with mo.open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    catalog = compiled._catalog  # the parsed .mo: {msgid or (msgid, n): msgstr}
    stale = [msgid for msgid, msgstr, _ in entries if catalog.get(msgid, catalog.get((msgid, 0))) != msgstr]
    assert not stale, f"{mo} is older than its .po: run scripts/messages.sh ({stale[:3]})"


def test_there_are_chinese_catalogues():
    assert CATALOGUES, "no zh_Hans catalogues found"
