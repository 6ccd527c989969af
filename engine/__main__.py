"""`python -m promptmine ...`, the same as the `promptmine` command."""

import sys

from promptmine.cli import main

if __name__ == "__main__":
    sys.exit(main())
