"""`python -m training_worker.ml`: see `cli.py`."""

import sys

from .cli import main

sys.exit(main())
