"""The defaults a source tree writes, for the tests that check each default is declared once (backend
`Options` in tests/test_registry.py, feature `Settings` in tests/test_settings.py)."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path


def literal(node: ast.AST):
    """The value a literal expression writes (`40`, `"text"`, `("a", "b")`), else Ellipsis."""
    try:
        return ast.literal_eval(node)
    except ValueError:
        return ...


def written_defaults(paths: Iterable[Path], *, classes: Callable[[ast.ClassDef], bool] = lambda node: True
                     ) -> Iterator[tuple[Path, int, str, ast.expr]]:
    """(file, line, name, default) for every function parameter with a default and every annotated
    field with a value in a class body (of the classes `classes` accepts) in these files."""
    for path in paths:
        for node in ast.walk(ast.parse(Path(path).read_text(encoding="utf-8"))):
            pairs = []
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                a = node.args
                pos = a.posonlyargs + a.args
                pairs = [(p.arg, d) for p, d in zip(pos[len(pos) - len(a.defaults):], a.defaults)]
                pairs += [(p.arg, d) for p, d in zip(a.kwonlyargs, a.kw_defaults) if d is not None]
            elif isinstance(node, ast.ClassDef) and classes(node):
                pairs = [(s.target.id, s.value) for s in node.body
                         if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name) and s.value is not None]
            for name, value in pairs:
                yield Path(path), node.lineno, name, value
