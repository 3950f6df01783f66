"""``python -m qnoise.cli``."""

import sys

from qnoise.cli import main

sys.exit(main())
