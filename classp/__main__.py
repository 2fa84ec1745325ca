"""``python -m classp``: the command line (see :mod:`classp.cli`)."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
