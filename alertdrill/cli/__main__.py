"""``python -m alertdrill.cli``: the same as the ``alertdrill`` command."""

import sys

from . import main

sys.exit(main())
