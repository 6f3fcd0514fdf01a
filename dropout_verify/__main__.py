"""``python -m dropout_verify`` is ``dropout-check``."""

import sys

from .cli import main

sys.exit(main())
