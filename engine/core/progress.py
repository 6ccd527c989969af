"""Status lines and progress through the `promptmine` logger, on stderr, so stdout stays clean.

A library user who never calls `configure_logging` gets the standard library's behaviour: notes go
to `logging.getLogger("promptmine")`, which they can silence, raise or redirect like any logger.
The app calls `configure_logging(verbosity)` once; it also makes transformers, huggingface_hub,
Ray and tqdm follow that verbosity, so their notices and bars do not outshout ours.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Iterable, Iterator

LOGGER = logging.getLogger("promptmine")

# Seconds between progress lines when stderr is not a terminal (a log file, a CI job, nohup).
LOG_EVERY = float(os.environ.get("PROMPTMINE_PROGRESS_EVERY", "5"))

# Environment a third-party library reads when it is first imported (also by worker processes).
_THIRD_PARTY_ENV = ("TRANSFORMERS_VERBOSITY", "HF_HUB_DISABLE_PROGRESS_BARS", "TQDM_DISABLE",
                    "RAY_BACKEND_LOG_LEVEL")
_USER_ENV = {k for k in _THIRD_PARTY_ENV if k in os.environ}  # what the user set wins


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at emit time (pytest's capture, a redirected stream), and
    through tqdm.write while a bar is drawn so a note does not tear the bar apart."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):  # StreamHandler.__init__ assigns it; the property always reads sys.stderr
        pass

    def emit(self, record: logging.LogRecord) -> None:
        tqdm_mod = sys.modules.get("tqdm")
        if tqdm_mod is not None and getattr(tqdm_mod.tqdm, "_instances", None):
            try:
                tqdm_mod.tqdm.write(self.format(record), file=sys.stderr)
                return
            except Exception:  # fall back to a plain write
                pass
        super().emit(record)


class _Formatter(logging.Formatter):
    """Info lines as written; warnings and errors say what they are."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.levelno >= logging.WARNING and not message.lower().startswith(("warning", "error")):
            message = f"{record.levelname.lower()}: {message}"
        if record.exc_info:
            message += "\n" + self.formatException(record.exc_info)
        return message


def configure_logging(verbosity: int = 0) -> None:
    """Set up promptmine's notes for the app: -1 quiet (warnings only), 0 info, 1 debug.
    Idempotent: a second call replaces the first one's handler and levels."""
    level = logging.WARNING if verbosity < 0 else logging.DEBUG if verbosity > 0 else logging.INFO
    for h in [h for h in LOGGER.handlers if isinstance(h, _StderrHandler)]:
        LOGGER.removeHandler(h)
    handler = _StderrHandler()
    handler.setFormatter(_Formatter())
    LOGGER.addHandler(handler)
    LOGGER.setLevel(level)
    _third_party(verbosity)


def _third_party(verbosity: int) -> None:
    """transformers/huggingface_hub/Ray/tqdm follow our verbosity: their warnings only at 0, nothing
    but errors when quiet, their own info with -v; their bars only on a terminal and never when quiet."""
    bars = verbosity >= 0 and sys.stderr.isatty()
    third_level = logging.ERROR if verbosity < 0 else logging.INFO if verbosity > 0 else logging.WARNING
    env = {"TRANSFORMERS_VERBOSITY": logging.getLevelName(third_level).lower(),
           "HF_HUB_DISABLE_PROGRESS_BARS": "0" if bars else "1",
           "TQDM_DISABLE": "0" if bars else "1",  # tqdm >= 4.66 reads TQDM_* as defaults
           "RAY_BACKEND_LOG_LEVEL": "info" if verbosity > 0 else "warning" if verbosity == 0 else "error"}
    for key, value in env.items():
        if key not in _USER_ENV:
            os.environ[key] = value
    # Libraries already imported read the environment no more: set theirs directly, through the
    # modules they loaded (the kernel never imports a model library itself).
    hf_logging = sys.modules.get("transformers.utils.logging")
    if hf_logging is not None:
        hf_logging.set_verbosity(third_level)
        hf_logging.enable_progress_bar() if bars else hf_logging.disable_progress_bar()
    hub_utils = sys.modules.get("huggingface_hub.utils")
    if hub_utils is not None and hasattr(hub_utils, "disable_progress_bars"):
        hub_utils.enable_progress_bars() if bars else hub_utils.disable_progress_bars()
    logging.getLogger("ray").setLevel(third_level)  # ray.init(configure_logging=False) keeps it


@contextlib.contextmanager
def as_the_command() -> Iterator[None]:
    """For a library function that a command runs (`optimize_task` for `run --task`), called from
    Python: the command's notes and progress on stderr where logging is not set up (no handler of
    the user's or of `configure_logging`), and no model-loading bars (transformers, huggingface_hub)
    unless the app (`configure_logging`) or the user's environment decided about them; both undone
    afterwards. Under the command itself it changes nothing."""
    app = any(isinstance(h, _StderrHandler) for h in LOGGER.handlers)
    handler = None
    if not LOGGER.hasHandlers():
        handler = _StderrHandler()
        handler.setFormatter(_Formatter())
        LOGGER.addHandler(handler)
    level = LOGGER.level
    if handler is not None and LOGGER.getEffectiveLevel() > logging.INFO:
        LOGGER.setLevel(logging.INFO)
    restore = (lambda: None) if app or "HF_HUB_DISABLE_PROGRESS_BARS" in _USER_ENV else _loading_bars_off()
    try:
        yield
    finally:
        restore()
        if handler is not None:
            LOGGER.removeHandler(handler)
            LOGGER.setLevel(level)


_BARS_ENV = "HF_HUB_DISABLE_PROGRESS_BARS"  # huggingface_hub reads it at import; transformers follows hub


def _loading_bars_off():
    """Turn transformers' and huggingface_hub's bars off (the environment for a library imported
    later, the module for one already imported); returns what restores them."""
    before = os.environ.get(_BARS_ENV)
    os.environ[_BARS_ENV] = "1"
    was = {name: _bars_on(name) for name in ("transformers.utils.logging", "huggingface_hub.utils")}
    _set_bars(False)

    def restore() -> None:
        if before is None:
            os.environ.pop(_BARS_ENV, None)
        else:
            os.environ[_BARS_ENV] = before
        default = (before or "").strip().lower() not in ("1", "true", "yes", "on")
        for name, on in was.items():  # a module imported meanwhile gets the environment's default
            _set_bars(default if on is None else on, only=name)

    return restore


def _bars_on(name: str) -> bool | None:
    module = sys.modules.get(name)
    if module is None:
        return None
    if name.startswith("transformers"):
        return bool(module.is_progress_bar_enabled())
    return not module.are_progress_bars_disabled()


def _set_bars(on: bool, only: str | None = None) -> None:
    import warnings

    with warnings.catch_warnings():  # huggingface_hub warns where its environment variable says otherwise
        warnings.simplefilter("ignore")
        hf_logging = sys.modules.get("transformers.utils.logging")
        if hf_logging is not None and only in (None, "transformers.utils.logging"):
            hf_logging.enable_progress_bar() if on else hf_logging.disable_progress_bar()
        hub_utils = sys.modules.get("huggingface_hub.utils")
        if hub_utils is not None and hasattr(hub_utils, "disable_progress_bars") and \
                only in (None, "huggingface_hub.utils"):
            hub_utils.enable_progress_bars() if on else hub_utils.disable_progress_bars()


def log(message: str) -> None:
    """A status line for the user (info)."""
    LOGGER.info(message)


def warn(message: str) -> None:
    """Something the user should know even when quiet."""
    LOGGER.warning(message)


def debug(message: str) -> None:
    """Detail shown with --verbose."""
    LOGGER.debug(message)


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 file`, `2 files`, `0 files`, `1,204 sentences`: a count with its noun agreeing
    (`many` for irregular plurals: plural(n, "query", "queries"))."""
    return f"{n:,} {word if n == 1 else many or word + 's'}"


def stage(name: str, i: int, n: int) -> None:
    """Overall progress of a multi-stage command: logs `stage i/n: name` (e.g. run's mine, paraphrase,
    score, select, compare), so a log shows where a long run is."""
    LOGGER.info(f"stage {i}/{n}: {name}")


def progress(iterable: Iterable | None = None, *, desc: str = "", total: int | None = None, unit: str = "it"):
    """Progress of a long loop: a tqdm bar when stderr is a terminal, otherwise a log line every
    LOG_EVERY seconds (done/total, rate, time left). PROMPTMINE_PROGRESS=1 forces the bar, =0 the
    log lines. Both support iteration, update(n), total +=, set_postfix, refresh, close, `with`."""
    forced = os.environ.get("PROMPTMINE_PROGRESS")
    bar = (forced == "1") if forced in ("0", "1") else (sys.stderr.isatty() and not _quiet())
    if not bar:
        return LogProgress(iterable, desc=desc, total=total, unit=unit)
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, unit=unit, file=sys.stderr, disable=_quiet() and forced != "1",
                dynamic_ncols=True, leave=False)


def _quiet() -> bool:
    return LOGGER.level > logging.INFO


class LogProgress:
    """The log-file form of a progress bar: an info line at most every LOG_EVERY seconds, and a
    closing line when the work took long enough to have logged any."""

    def __init__(self, iterable: Iterable | None = None, *, desc: str = "", total: int | None = None,
                 unit: str = "it", every: float | None = None):
        self.iterable = iterable
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)
        self.total = total
        self.desc = desc or "progress"
        self.unit = unit
        self.n = 0
        self.every = LOG_EVERY if every is None else every
        self.start = self._last = time.monotonic()
        self.postfix: dict = {}
        self.logged = 0
        self.closed = False

    def __iter__(self):
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __len__(self):
        return self.total or 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            self._emit(now)

    def set_postfix(self, ordered_dict=None, refresh: bool = True, **kwargs) -> None:
        self.postfix.update(ordered_dict or {}, **kwargs)

    def set_description(self, desc: str = "", refresh: bool = True) -> None:
        self.desc = desc or self.desc

    def refresh(self) -> None:
        pass

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.logged:  # only work that took long enough to report progress reports its end
            elapsed = time.monotonic() - self.start
            LOGGER.info(f"{self.desc}: done, {self.n:,} in {_duration(elapsed)} ({_rate(self.n, elapsed, self.unit)})")

    def _emit(self, now: float) -> None:
        elapsed = now - self.start
        done = f"{self.n:,}/{self.total:,}" if self.total else f"{self.n:,}"
        parts = [f"{self.desc}: {done}"]
        if self.total:
            parts[0] += f" ({100 * self.n / self.total:.0f}%)"
        parts.append(_rate(self.n, elapsed, self.unit))
        if self.total and self.n and self.n < self.total:
            parts.append(f"{_duration((self.total - self.n) * elapsed / self.n)} left")
        parts += [f"{k}={v}" for k, v in self.postfix.items()]
        LOGGER.info(", ".join(parts))
        self.logged += 1


def _rate(n: int, seconds: float, unit: str) -> str:
    per_s = n / seconds if seconds > 0 else 0.0
    if 0 < per_s < 1:
        return f"{seconds / n:.1f} s/{unit}"
    return f"{per_s:,.1f} {unit}/s"


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
