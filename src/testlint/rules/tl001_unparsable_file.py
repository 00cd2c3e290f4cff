from __future__ import annotations

from testlint.api import FileKind, Rule


class UnparsableFile(Rule):
    """
    ## What it does
    Reports a file that testlint cannot read, decode or parse: a syntax error, a
    NUL byte, bytes that are invalid in the file's declared encoding, or syntax
    that is valid Python but newer than libcst can parse (the message says which).

    Every test module and conftest is checked, whether or not another rule needs
    to look at it: CPython's parser first, and libcst for a file CPython refuses
    (it may be valid syntax newer than the running interpreter). Other `.py`
    files are reported only when a rule parses them.

    Not reported: a file the running Python cannot parse when a conftest keeps
    pytest on this Python from collecting it, under a condition on
    `sys.version_info` alone (`if sys.version_info < (3, 14):
    collect_ignore_glob.append("*_py314.py")`): pytest never imports it where it
    fails to parse.

    A file larger than `max-file-size` (default 2 MB; `0` turns the limit off) is
    reported too, as "File not checked", and never parsed: parsing a file costs
    some 650 MB of memory per MB of dense code.

    ## Why is this bad?
    pytest cannot import such a file either: collecting it is an error. And
    testlint could not check it, so its other problems stay hidden (for a file
    above the size limit, only the latter).

    ## Example
    ```python
    def test_broken(:
        pass
    ```

    ## Use instead
    ```python
    def test_fixed():
        pass
    ```

    ## Fix safety
    There is no fix.
    """

    code = "TL001"
    name = "unparsable-file"
    summary = "File cannot be read, decoded or parsed"
    triggers = ()
    file_kinds = frozenset(FileKind)
