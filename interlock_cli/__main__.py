"""`python -m interlock_cli` (what the `interlock` console script runs)."""

import sys

from .main import main

sys.exit(main())
