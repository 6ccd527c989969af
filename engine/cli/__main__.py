"""`python -m promptmine.cli ...`, the same as the `promptmine` command."""

import sys

from promptmine.cli import main

sys.exit(main())
