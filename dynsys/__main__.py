"""``python -m dynsys``: the same as the ``dynsys`` command."""
import sys

from .cli import main

sys.exit(main())
