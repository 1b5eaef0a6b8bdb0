"""Measures of the code's shape, for before/after comparisons of a redesign.

    .venv/bin/python scripts/structure.py

Prints: lines of Python outside migrations, tests and test fixtures, functions rated D or worse by radon's
cyclomatic complexity, functions longer than 100 lines, imports inside functions, import cycles
between the apps (grimp) and the number of hand-written ``visible_to`` methods.
"""

from __future__ import annotations

import ast
import pathlib
import sys

import grimp
from radon.complexity import cc_rank, cc_visit

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = "urbangrid"


def product_files():
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        if {"migrations", "tests", "testing"} & set(path.parts) or path.stem == "testing":
            continue
        yield path


def function_nodes(tree):
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def main() -> None:
    lines = complex_ = long_ = inner_imports = visible_to = 0
    long_names, complex_names = [], []
    for path in product_files():
        text = path.read_text()
        lines += text.count("\n")
        tree = ast.parse(text)
        rel = path.relative_to(ROOT)
        for fn in function_nodes(tree):
            if fn.name == "visible_to":
                visible_to += 1
            if fn.end_lineno - fn.lineno + 1 > 100:
                long_ += 1
                long_names.append(f"{rel}:{fn.lineno} {fn.name} ({fn.end_lineno - fn.lineno + 1})")
            for node in ast.walk(fn):
                if isinstance(node, (ast.Import, ast.ImportFrom)) and node is not fn:
                    inner_imports += 1
        for block in cc_visit(text):
            if cc_rank(block.complexity) in "DEF":
                complex_ += 1
                complex_names.append(f"{rel}:{block.lineno} {block.name} ({block.complexity})")

    sys.path.insert(0, str(ROOT))
    graph = grimp.build_graph(PACKAGE)
    for module in list(graph.modules):
        if ".tests" in module or module.endswith((".conftest", ".testing")):
            graph.remove_module(module)
    apps = sorted(m for m in graph.find_children(PACKAGE) if graph.find_children(m))
    app_cycles = sorted(
        (a, b)
        for a in apps
        for b in apps
        if a < b and graph.chain_exists(a, b, as_packages=True) and graph.chain_exists(b, a, as_packages=True)
    )
    print(f"lines of Python (no migrations, tests or test fixtures): {lines}")
    print(f"functions rated D or worse: {complex_}")
    print(f"functions over 100 lines: {long_}")
    print(f"imports inside functions: {inner_imports}")
    print(f"visible_to methods: {visible_to}")
    print(f"app pairs importing each other (directly or through others): {len(app_cycles)}")
    if "-v" in sys.argv:
        for name in complex_names + long_names:
            print("  ", name)
        for a, b in app_cycles:
            print(f"   {a} <-> {b}")


if __name__ == "__main__":
    main()
