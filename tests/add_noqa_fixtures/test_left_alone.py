"""What `--add-noqa` leaves to the user: a directive that suppresses nothing
(TL003, which `--fix` removes), and a finding no line of its statement can hold a
comment for."""

import sys

RETRIES = 3  # noqa: TL101

if sys.exit(3) or """a multi-line string
that ends here""":
    pass
