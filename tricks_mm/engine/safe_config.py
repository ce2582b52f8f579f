"""Read config text stored in a checkpoint (``meta.cfg`` / ``meta.config``) without executing it.

Why our own reader: mmengine's ``Config.fromstring`` writes the text to a temporary ``.py`` file
and ``Config.fromfile`` runs it (``exec`` of the module; its lazy-import mode executes too): a
checkpoint from elsewhere whose ``meta.cfg`` holds ``import os; os.system(...)`` would run it.
mmengine has no mode that parses without executing, and ``ast.literal_eval`` alone refuses the
``dict(key=value)`` calls mmengine's ``pretty_text`` writes. So the text is parsed with :mod:`ast`
and only this subset is accepted:

* top-level statements ``name = value`` (one plain name as the target);
* values built from constants (str, bytes, numbers, bool, None), ``-``/``+`` on a number, list,
  tuple, set and dict displays, and calls ``dict(k=v, ...)`` of such values (keywords only).

Anything else (an import, a call of anything but ``dict``, a name, an attribute, a comprehension,
``**``-unpacking, a bare expression) makes the whole text unreadable: it is refused, never run.
"""

import ast
from typing import Any, Dict


class UnsafeConfigText(ValueError):
    """The stored config text holds something other than literal assignments; nothing ran."""


def _where(node: ast.AST) -> str:
    return f'line {getattr(node, "lineno", "?")}'


def _value(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, (ast.USub, ast.UAdd))
        and isinstance(node.operand, ast.Constant)
        and type(node.operand.value) in (int, float, complex)
    ):
        return -node.operand.value if isinstance(node.op, ast.USub) else node.operand.value
    if isinstance(node, ast.List):
        return [_value(e) for e in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(_value(e) for e in node.elts)
    if isinstance(node, ast.Set):
        return {_value(e) for e in node.elts}
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise UnsafeConfigText(f'{_where(node)}: ** unpacking in a dict display')
        return {_value(k): _value(v) for k, v in zip(node.keys, node.values)}
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == 'dict'
        and not node.args
        and all(kw.arg is not None for kw in node.keywords)
    ):
        return {kw.arg: _value(kw.value) for kw in node.keywords}
    raise UnsafeConfigText(
        f'{_where(node)}: {type(node).__name__} {ast.unparse(node)[:60]!r} is not a literal'
    )


def read_literal_config(text: str) -> Dict[str, Any]:
    """The ``name -> value`` assignments of ``text``, parsed and never executed.

    Raises:
        UnsafeConfigText: ``text`` is not valid Python, or one of its statements is not a literal
            assignment (the message names the line and what was found there).
    """
    try:
        tree = ast.parse(text, mode='exec')
    except (SyntaxError, ValueError, RecursionError) as err:  # ValueError: NUL bytes
        raise UnsafeConfigText(f'not Python: {err}') from None
    out: Dict[str, Any] = {}
    for stmt in tree.body:
        if not (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
        ):
            raise UnsafeConfigText(
                f'{_where(stmt)}: {type(stmt).__name__} statement '
                f'{ast.unparse(stmt)[:60]!r} is not `name = literal`'
            )
        try:
            out[stmt.targets[0].id] = _value(stmt.value)
        except RecursionError:
            raise UnsafeConfigText(f'{_where(stmt)}: nested too deeply') from None
    return out


def literal_assignments(text: str) -> Dict[str, Any]:
    """The ``name = literal`` statements of ``text``, every other statement skipped (never run).

    The lenient sibling of :func:`read_literal_config`, for reading a few known keys (an
    mmpretrain backbone's ``style``, its ``data_preprocessor``) out of stored text that may
    also hold something else: a value that is not a literal reads as absent. Text that does not
    parse gives ``{}``.
    """
    try:
        tree = ast.parse(text, mode='exec')
    except (SyntaxError, ValueError, RecursionError):
        return {}
    out: Dict[str, Any] = {}
    for stmt in tree.body:
        if (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
        ):
            try:
                out[stmt.targets[0].id] = _value(stmt.value)
            except (UnsafeConfigText, RecursionError):
                continue
    return out
