"""``python -m cxsim``: the ``cxsim`` command (:func:`cxsim.cli.main`), as the console script runs it."""

import sys

from .cli import main

sys.exit(main())
