"""Settings for the whole test session."""

from __future__ import annotations

import gc
import os
import tempfile
from pathlib import Path

# Hundreds of tests start testlint in a new interpreter. With bytecode writing off
# (PYTHONDONTWRITEBYTECODE, which some CI machines set) each of them compiled
# testlint from source, about 0.13 s, some 40 s of CPU over the suite. Bytecode goes
# to a folder of its own instead, so the checkout stays as clean as the variable
# kept it. Tests of the bytecode settings give their commands their own environment.
if os.environ.pop("PYTHONDONTWRITEBYTECODE", None) is not None:
    os.environ.setdefault(
        "PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / "testlint-tests-pycache")
    )

# The session keeps much alive (hypothesis's and hypothesmith's caches, pytest's
# items) and the tests allocate libcst trees by the million: with CPython's default
# threshold (700), young collections set off about 70 full ones, each walking every
# live object, 12-15 s of the suite's run. The runner raises the threshold during
# its runs for the same reason (`workers.GC_THRESHOLD`); linting in the tests' own
# process gets a smaller one (larger young collections cost more than they save
# here).
gc.set_threshold(10_000, *gc.get_threshold()[1:])
