"""Nothing in the project refers to a document or file that is not in it."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEXT = {".py", ".md", ".html", ".js", ".css", ".sh", ".toml", ".po", ".txt", ".json", ""}


def tracked_files() -> list[Path]:
    names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [ROOT / n for n in names.split() if (ROOT / n).suffix in TEXT and (ROOT / n).is_file()]


def test_every_cited_document_is_in_the_repository():
    files = tracked_files()
    present = {p.relative_to(ROOT).as_posix() for p in files} | {p.name for p in files}
    missing = []
    for path in files:
        for ref in set(re.findall(r"[\w./-]*\w\.md\b", path.read_text(encoding="utf-8", errors="ignore"))):
            local = (path.parent / ref).resolve()
            if ref not in present and not local.is_file():
                missing.append(f"{path.relative_to(ROOT)} → {ref}")
    assert not missing, "\n".join(sorted(missing))


# A path into somebody's machine: a home or work folder, or a file URL.
OUTSIDE = re.compile(r"(?<![\w.])(?:~|/home|/root|/work|/mnt|/Users)/[\w.-]|file://")
# A repository file named in backticks in the documentation: `cases/sql.py`, `lib/rows.py`.
CITED_FILE = re.compile(r"`([\w.-]+(?:/[\w.-]+)+\.(?:py|md|sh|toml|json|js|css|html|txt))`")


def test_nothing_points_into_a_machine_outside_the_repository():
    found = [
        f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
        for path in tracked_files()
        if path != Path(__file__)  # the pattern above names what it looks for
        for n, line in enumerate(path.read_text(encoding="utf-8", errors="ignore").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert not found, "\n".join(found)


def test_every_file_the_documentation_names_exists():
    files = tracked_files()
    paths = [p.relative_to(ROOT).as_posix() for p in files]
    missing = []
    for doc in (p for p in files if p.suffix == ".md"):
        for ref in set(CITED_FILE.findall(doc.read_text(encoding="utf-8"))):
            # Docs name files from the repository root or from the app's folder (`cases/sql.py`).
            if not any(path == ref or path.endswith("/" + ref) for path in paths):
                missing.append(f"{doc.relative_to(ROOT)} → {ref}")
    assert not missing, "\n".join(sorted(missing))
