"""`python -m xnn ...` is the `xnn` command."""

import sys

from .cli import main

sys.exit(main())
