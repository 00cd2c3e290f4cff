"""Settings for the whole test session."""

from __future__ import annotations

import gc

# The session keeps much alive (hypothesis's and hypothesmith's caches, pytest's
# items) and the tests allocate libcst trees by the million: with CPython's default
# threshold (700), young collections set off about 70 full ones, each walking every
# live object, 12-15 s of the suite's run. The runner raises the threshold during
# its runs for the same reason (`workers.GC_THRESHOLD`); linting in the tests' own
# process gets a smaller one (larger young collections cost more than they save
# here).
gc.set_threshold(10_000, *gc.get_threshold()[1:])
