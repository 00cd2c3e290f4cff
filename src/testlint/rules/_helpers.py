"""Predicates and node builders shared by several rules."""

from __future__ import annotations

from collections.abc import Sequence

import libcst as cst

from testlint.diagnostics import ImportRequest
from testlint.names import dotted_name
from testlint.rule import RuleContext


def is_string_node(node: cst.BaseExpression) -> bool:
    return isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString))


def py_string(text: str) -> str:
    """A double-quoted Python literal for `text` (single quotes if that avoids escapes)."""
    quote = "'" if '"' in text and "'" not in text else '"'
    escaped = text.replace("\\", "\\\\").replace(quote, "\\" + quote)
    escaped = escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f"{quote}{escaped}{quote}"


def module_reference(
    context: RuleContext, module: str
) -> tuple[str, tuple[ImportRequest, ...]] | None:
    """How new code can name `module` here: an existing alias (`pt` after
    `import pytest as pt`), or the module's own name plus an import to add.
    None if that name is already bound to something else."""
    alias = context.imports.local_name_for_module(module)
    if alias is not None:
        return alias, ()
    head = module.split(".", 1)[0]
    bound_elsewhere = head in context.imports.aliases and context.imports.aliases[head] != module
    if head in context.imports.bound or bound_elsewhere:
        return None
    return module, (ImportRequest(module),)


def keyword_arg(name: str, value: cst.BaseExpression) -> cst.Arg:
    return cst.Arg(
        value=value,
        keyword=cst.Name(name),
        equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
        ),
    )


def find_keyword(call: cst.Call, name: str) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg
    return None


def has_star_kwargs(call: cst.Call) -> bool:
    return any(arg.star == "**" for arg in call.args)


def positional_args(call: cst.Call) -> list[cst.Arg]:
    return [arg for arg in call.args if arg.keyword is None and not arg.star]


def append_keyword(call: cst.Call, new_arg: cst.Arg) -> cst.Call:
    """`call` with `new_arg` appended, following the call's own layout: a
    one-per-line call with a trailing comma gets a new line of the same shape."""
    args = list(call.args)
    if not args:
        return call.with_changes(args=[new_arg])
    last = args[-1]
    if isinstance(last.comma, cst.Comma):
        # Trailing comma: the new argument takes over the comma that closes the list,
        # and goes on its own line, indented like the first argument.
        separator = last.comma.with_changes(
            whitespace_after=_line_break(call.whitespace_before_args)
        )
        args[-1] = last.with_changes(comma=separator)
        args.append(new_arg.with_changes(comma=last.comma))
    else:
        space = cst.SimpleWhitespace(" ")
        args[-1] = last.with_changes(
            comma=cst.Comma(whitespace_after=space), whitespace_after_arg=cst.SimpleWhitespace("")
        )
        args.append(new_arg.with_changes(whitespace_after_arg=last.whitespace_after_arg))
    return call.with_changes(args=args)


def _line_break(model: cst.BaseParenthesizableWhitespace) -> cst.BaseParenthesizableWhitespace:
    """`model`'s newline and indentation, without its comments or blank lines."""
    if isinstance(model, cst.ParenthesizedWhitespace):
        return model.with_changes(first_line=cst.TrailingWhitespace(), empty_lines=())
    return model


def previous_small_statement(
    context: RuleContext, small: cst.BaseSmallStatement
) -> cst.BaseSmallStatement | None:
    """The statement that runs just before `small` in the same block, if simple."""
    statement = context.enclosing_statement()
    if statement is None:
        return None
    body: Sequence[cst.BaseSmallStatement] = statement.body
    index = next((i for i, s in enumerate(body) if s is small), -1)
    if index > 0:
        return body[index - 1]
    if index < 0 or isinstance(statement, cst.SimpleStatementSuite):
        return None
    block = context.enclosing_block()
    position = next((i for i, s in enumerate(block) if s is statement), -1)
    if position > 0:
        before = block[position - 1]
        if isinstance(before, cst.SimpleStatementLine):
            return before.body[-1]
    return None


def imported_modules(statements: Sequence[cst.BaseStatement]) -> list[str]:
    """Top-level module names imported by the simple statements of a block."""
    found: list[str] = []
    for statement in statements:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Import):
                found.extend(dotted_name(alias.name) or "" for alias in small.names)
            elif isinstance(small, cst.ImportFrom) and small.module and not small.relative:
                found.append(dotted_name(small.module) or "")
    return [name for name in found if name]
