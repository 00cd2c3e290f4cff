"""The mark rules' messages and their idea of a slip of the keyboard (TL501, TL502)."""

from __future__ import annotations

import ast

import pytest

from linting import FIXTURES, lint
from testlint.rules._marks import PYTEST_MARKS, edit_distance, misspelling_of
from testlint.rules.tl502_misspelt_mark import _may_be_mark, _names_after
from testlint.scan import Scan


def messages(relative: str, code: str) -> list[str]:
    return [d.message for d in lint(FIXTURES / relative).diagnostics if d.code == code]


def test_tl501_names_pytest_9_s_error_unless_pytest_is_pinned_below_9() -> None:
    (latest,) = set(messages("TL501/auto_mode/test_async_client.py", "TL501"))
    assert latest == (
        "Mark `asyncio` on fixture `client` has no effect, and pytest 9 refuses to import "
        'the module ("Marks cannot be applied to fixtures")'
    )
    (pinned,) = messages("TL501/pinned_pytest_8/test_ignored_mark.py", "TL501")
    assert pinned == (
        "Mark `skipif` on fixture `tmp_home` has no effect, and pytest 9 refuses marks on fixtures"
    )


def test_tl502_says_what_the_configuration_makes_of_an_unknown_mark() -> None:
    (strict,) = messages("TL502/strict/test_strict.py", "TL502")
    assert strict == (
        "Unknown mark `usefixture` stops the collection of this module under "
        "`--strict-markers`: did you mean `usefixtures`?"
    )
    assert "Unknown mark `skip_if` does nothing (pytest only warns): did you mean `skipif`?" in (
        messages("TL502/test_typos.py", "TL502")
    )


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("usefixture", "usefixtures", 1),
        ("parmaetrize", "parametrize", 1),
        ("", "skip", 4),
        ("xfail", "xfail", 0),
        ("parameterise", "parametrize", 2),
        ("gpu", "cpu", 1),
    ],
)
def test_edit_distance_counts_a_swap_of_neighbours_as_one(a: str, b: str, distance: int) -> None:
    assert edit_distance(a, b) == distance
    assert edit_distance(b, a) == distance


@pytest.mark.parametrize(
    ("name", "meant"),
    [
        ("usefixture", "usefixtures"),
        ("skipIf", "skipif"),
        ("skip_if", "skipif"),
        ("parameterise", "parametrize"),
        ("slwo", None),
        ("integratoin", "integration"),
        ("py3", None),
        ("integration2", None),
        ("skipped", None),
        ("xfail", None),
    ],
)
def test_a_slip_is_one_edit_two_for_long_pytest_marks_and_never_a_digit(
    name: str, meant: str | None
) -> None:
    known = PYTEST_MARKS | {"slow", "integration"}
    assert misspelling_of(name, known, PYTEST_MARKS) == meant


TRICKY_MARK_TEXT = """import pytest
from pytest import mark as m
from pytest import mark

@pytest.mark.parametrize("a", [1])
@pytest.mark  .  skipiff
@m.xfial
@pytest.mark. \\
   usefixture("x")
@(pytest.mark  # a comment
  .ñame)
@mark.slow
def test_f(a): pass
"""


def test_tl502_text_names_hold_every_name_the_tree_reads_from_a_mark() -> None:
    """The gate's shortcut (identifiers after `mark.` in the text) may find more
    names than the tree, never fewer: on a tricky module and every fixture file."""
    texts = [TRICKY_MARK_TEXT, *(p.read_text(encoding="utf-8") for p in FIXTURES.rglob("*.py"))]
    for text in texts:
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        scan = Scan(tree, text)
        words = scan.words_for({"mark"})
        from_tree = {
            node.attr
            for node in scan.nodes
            if isinstance(node, ast.Attribute) and _may_be_mark(node.value, words)
        }
        assert from_tree <= set(_names_after(text, words)), text
        if text is TRICKY_MARK_TEXT:
            assert {"skipiff", "xfial", "usefixture", "ñame", "slow"} <= from_tree
