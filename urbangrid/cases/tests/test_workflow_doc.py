"""docs/workflow.md is drawn from the action records: it must match them."""

from __future__ import annotations

import importlib.util
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[3]


def _script():
    spec = importlib.util.spec_from_file_location(
        "workflow_diagram", ROOT / "scripts" / "workflow_diagram.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_workflow_doc_is_up_to_date():
    script = _script()
    assert script.DOC.read_text() == script.render(), "run: .venv/bin/python scripts/workflow_diagram.py"
