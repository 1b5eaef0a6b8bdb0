"""Nothing in the project refers to a document that is not in it."""

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
