"""``python -m simstudy``: the command line, without installing the package."""

import sys

from simstudy.cli import main

sys.exit(main())
