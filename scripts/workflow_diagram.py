"""Writes docs/workflow.md from the case action records (urbangrid/cases/workflow.py).

    .venv/bin/python scripts/workflow_diagram.py

The document holds a Mermaid state diagram of the moves and a table action → roles → from → to →
preconditions. A test (cases/tests/test_workflow_doc.py) fails when a record changed and the
document was not written again.
"""

from __future__ import annotations

import os
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "workflow.md"

HEADER = """\
# The case workflow

Written by `scripts/workflow_diagram.py` from the action records (`CaseAction`) in
`urbangrid/cases/workflow.py`; do not edit by hand. Each record is the one place where an action
is declared: the transition table, the API, the console's forms, the approvals and "my tasks" read
it.

Actions that keep the state (applications, supervision orders, escalation, evaluation) appear in
the table only. A `decide_*` action reaches its target state when it approves; a refusal keeps
the state. `system` is the task worker (automatic escalation), `reporter` the account that
reported the case.
"""

UNIT_TASKS = {
    "lead": "The user's unit is the lead unit.",
    "assist": "The user's unit has an open assisting task.",
}


def _diagram(actions) -> list[str]:
    lines = ["```mermaid", "stateDiagram-v2"]
    for spec in actions:
        if spec.target is not None:
            note = " (approved)" if spec.decides else ""
            lines += [f"    {source} --> {spec.target}: {spec.name}{note}" for source in spec.sources]
    return [*lines, "```"]


def _preconditions(spec) -> str:
    rules = [UNIT_TASKS[spec.unit_task]] if spec.unit_task else []
    rules += [check.__doc__.strip() for check in spec.preconditions]
    return " ".join(rules) or "—"


def _table(actions) -> list[str]:
    lines = ["| Action | Label | Roles | From | To | Preconditions |", "|---|---|---|---|---|---|"]
    for spec in actions:
        cells = [
            f"`{spec.name}`",
            str(spec.label),
            ", ".join(spec.roles),
            ", ".join(spec.sources),
            spec.target or "(keeps the state)",
            _preconditions(spec),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def render() -> str:
    """The document for the records as they are now (labels in English)."""
    from django.utils import translation

    from urbangrid.cases.workflow import ACTIONS

    with translation.override("en"):
        parts = [
            HEADER,
            "## States and moves",
            "",
            *_diagram(ACTIONS),
            "",
            "## Actions",
            "",
            *_table(ACTIONS),
        ]
        return "\n".join(parts) + "\n"


def main() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "urbangrid.settings")
    import django

    django.setup()
    DOC.write_text(render())
    print(f"wrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
