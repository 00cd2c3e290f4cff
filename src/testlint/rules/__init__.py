"""The rules, one module each, named after its code (`tl101_module_level_exit.py`).

Modules whose names start with `_` hold what a family of rules shares (`_asyncio`,
`_xdist`, `_patching`, ...). The list of rules is `testlint.registry`: this package
imports nothing, so importing one rule never imports every other.
"""
