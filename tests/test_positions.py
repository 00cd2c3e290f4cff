"""Positions computed for a few top-level statements must be libcst's own."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from testlint.positions import all_positions, positions_in, positions_of
from testlint.source import python_parses

FIXTURES = Path(__file__).parent / "fixtures"
FILES = sorted(FIXTURES.rglob("*.py"))
EXTRA = {
    "crlf": "import os\r\n\r\n\r\ndef f():\r\n    x = 1\r\n    return x\r\n\r\nos.exit(1)\r\n",
    "lone cr": "import os\r\rdef f():\r    return '''a\rb'''\r\ros.exit(1)\r",
    "header and tabs": "#!/usr/bin/env python\n# hi\n\nif x:\n\ty = (\n\t  1)\nz = 2",
    "one line blocks": "if a: b; c\nwhile d: e\nclass K: pass\n",
    "strings over lines": "x = '''\nfoo\n'''; y = 1\n\n@d(\n  2)\ndef g(): return 3\n",
    "repeated statements": "x = 1\n\ndef f():\n    x = 1\n\nx = 1\n# c\nx = 1\ny = 2  # t\n",
    "bom": "\ufeffimport os\n\nos.exit(1)\n",
}


def _sources() -> list[tuple[str, bytes | str]]:
    """Every fixture Python parses, and the snippets above. Each test parses its
    source again: trees kept alive for the whole session (as parameters) made every
    full garbage collection walk them."""
    sources: list[tuple[str, bytes | str]] = []
    for path in FILES:
        source = path.read_bytes()
        if not python_parses(source):
            continue  # fixtures of unparsable files (`ast` decides in a tenth of the time)
        sources.append((path.relative_to(FIXTURES).as_posix(), source))
    sources.extend(EXTRA.items())
    return sources


SOURCES = _sources()
SOURCE_IDS = [name for name, _ in SOURCES]


def test_fixtures_were_found() -> None:
    assert len(SOURCES) > 300


@pytest.mark.parametrize(("name", "source"), SOURCES, ids=SOURCE_IDS)
def test_each_statement_alone_gets_libcst_positions(name: str, source: bytes | str) -> None:
    module = cst.parse_module(source)
    full = all_positions(module)
    for code in (None, module.code):  # statements generated, or found in the code
        for statement in module.body:
            some = positions_in(module, {statement}, code)
            assert statement in some
            assert {node: some[node] for node in some} == {node: full[node] for node in some}


@pytest.mark.parametrize(("name", "source"), SOURCES, ids=SOURCE_IDS)
def test_first_and_last_statements_together(name: str, source: bytes | str) -> None:
    module = cst.parse_module(source)
    if len(module.body) < 2:
        return
    chosen = {module.body[0], module.body[-1]}
    full = all_positions(module)
    for code in (None, module.code):
        some = positions_in(module, chosen, code)
        assert chosen <= set(some)
        assert all(some[node] == full[node] for node in some)


def test_a_node_outside_the_hinted_statements_falls_back_to_the_whole_module() -> None:
    module = cst.parse_module("a = 1\nb = 2\nc = 3\n")
    first, _, last = module.body
    positions = positions_of(module, [last], [first])
    assert positions[last] == all_positions(module)[last]
    assert first in positions  # the whole module was generated


def test_no_hint_means_the_whole_module() -> None:
    module = cst.parse_module("a = 1\nb = 2\n")
    assert set(positions_of(module, [module.body[1]], [None])) == set(all_positions(module))
