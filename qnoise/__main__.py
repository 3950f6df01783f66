"""``python -m qnoise``: the ``qnoise`` command line."""

import sys

from qnoise.cli import main

sys.exit(main())
