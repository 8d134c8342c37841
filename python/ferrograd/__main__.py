"""``python -m ferrograd ...``: the same command line as ``ferrograd`` (see cli.py)."""

import sys

from .cli import main

sys.exit(main())
