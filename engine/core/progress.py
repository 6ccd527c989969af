"""One place for progress bars: always on stderr, so stdout stays clean for piping."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable


def progress(iterable: Iterable | None = None, *, desc: str = "", total: int | None = None, unit: str = "it"):
    """A tqdm bar on stderr; hidden when stderr is not a terminal unless PROMPTMINE_PROGRESS=1."""
    from tqdm.auto import tqdm

    forced = os.environ.get("PROMPTMINE_PROGRESS")
    disable = (forced == "0") if forced is not None else not sys.stderr.isatty()
    return tqdm(iterable, desc=desc, total=total, unit=unit, file=sys.stderr, disable=disable,
                dynamic_ncols=True, leave=False)


def log(message: str) -> None:
    """A status line for the user, on stderr."""
    print(message, file=sys.stderr, flush=True)
