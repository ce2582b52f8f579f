"""Read literal values out of a config text stored in a checkpoint, without executing it.

An mmengine runner stores its resolved config as Python source in ``meta['cfg']``. Executing it
(``Config.fromstring``) would run code from a downloaded file; instead the text is parsed with
:mod:`ast` and only assignments whose right-hand side is a literal (constants, lists, tuples,
dicts, ``dict(key=literal, ...)`` calls) are evaluated, by :func:`ast.literal_eval` semantics.
Anything else is skipped, so a value that is not a literal reads as absent.
"""

import ast
from typing import Any, Dict


class _NotLiteral(Exception):
    pass


def _value(node: ast.AST) -> Any:
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == 'dict'
        and not node.args
    ):
        return {kw.arg: _value(kw.value) for kw in node.keywords if kw.arg is not None}
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_value(e) for e in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Dict):
        return {_value(k): _value(v) for k, v in zip(node.keys, node.values) if k is not None}
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise _NotLiteral from None


def literal_assignments(text: str) -> Dict[str, Any]:
    """``{name: value}`` for the top-level ``name = <literal>`` statements of ``text``.

    Returns an empty dict for text that does not parse.
    """
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return {}
    values: Dict[str, Any] = {}
    for stmt in tree.body:
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
        ):
            try:
                values[stmt.targets[0].id] = _value(stmt.value)
            except _NotLiteral:
                continue
    return values
