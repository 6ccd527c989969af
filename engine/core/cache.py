"""One cache mechanism for everything computed by a model: translations, scores, hosted answers.

Keyed by model identity and inputs; SQLite gives atomic, crash-safe writes and lets several
processes share the file. Every user goes through `open_cache(cache, namespace)`, so there is one
way to choose a cache (`True`: the default file; a path; a `DiskCache`) and one to turn caching
off: `cache=False`/`None`, or the environment variable `PROMPTMINE_NO_CACHE=1` for everything.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any


def default_cache_dir() -> Path:
    """`$PROMPTMINE_CACHE`, else `$XDG_CACHE_HOME/promptmine`, else `~/.cache/promptmine`."""
    if os.environ.get("PROMPTMINE_CACHE"):
        return Path(os.environ["PROMPTMINE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "promptmine"


def caching_disabled() -> bool:
    """`PROMPTMINE_NO_CACHE` is set to anything but empty or 0: no cache is read or written."""
    return os.environ.get("PROMPTMINE_NO_CACHE", "").strip() not in ("", "0")


def cache_key(*parts: Any) -> str:
    """A stable key for any JSON-serialisable inputs."""
    blob = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class DiskCache:
    """A namespaced key -> JSON value store; `DiskCache(None)` keeps results in memory only."""

    def __init__(self, path: str | Path | None = "default", namespace: str = "default"):
        self.namespace = namespace
        self._lock = threading.Lock()
        if path == "default":
            path = default_cache_dir() / "cache.sqlite"
        if path is None:
            self._db = sqlite3.connect(":memory:", check_same_thread=False)
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), timeout=60, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS kv (ns TEXT, k TEXT, v TEXT, PRIMARY KEY (ns, k))")
        self._db.commit()

    def get(self, key: str, default: Any = None) -> Any:
        with self._lock:
            row = self._db.execute("SELECT v FROM kv WHERE ns=? AND k=?", (self.namespace, key)).fetchone()
        return default if row is None else json.loads(row[0])

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        """The cached values among `keys` (absent keys are left out)."""
        found: dict[str, Any] = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                chunk = keys[i:i + 500]
                marks = ",".join("?" * len(chunk))
                for k, v in self._db.execute(
                        f"SELECT k, v FROM kv WHERE ns=? AND k IN ({marks})", (self.namespace, *chunk)):
                    found[k] = json.loads(v)
        return found

    def set_many(self, items: dict[str, Any]) -> None:
        with self._lock:
            self._db.executemany(
                "INSERT OR REPLACE INTO kv (ns, k, v) VALUES (?, ?, ?)",
                [(self.namespace, k, json.dumps(v, ensure_ascii=False)) for k, v in items.items()])
            self._db.commit()

    def set(self, key: str, value: Any) -> None:
        self.set_many({key: value})

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM kv WHERE ns=?", (self.namespace,)).fetchone()[0]

    def close(self) -> None:
        self._db.close()


class NoCache:
    """Caching off: nothing is ever found, nothing is kept (same interface as DiskCache)."""

    namespace = None

    def get(self, key: str, default: Any = None) -> Any:
        return default

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        return {}

    def set_many(self, items: dict[str, Any]) -> None:
        pass

    def set(self, key: str, value: Any) -> None:
        pass

    def __len__(self) -> int:
        return 0

    def close(self) -> None:
        pass


Cache = DiskCache | NoCache
CacheSpec = DiskCache | NoCache | str | Path | bool | None


def open_cache(cache: CacheSpec = True, namespace: str = "default") -> Cache:
    """The cache a component uses: `True` or "default" -> the on-disk default file
    (`default_cache_dir()/cache.sqlite`); a path -> that SQLite file; a DiskCache/NoCache -> itself;
    `False`/`None` -> NoCache. `PROMPTMINE_NO_CACHE=1` makes every cache a NoCache."""
    if cache is None or cache is False or caching_disabled():
        return NoCache()
    if isinstance(cache, (DiskCache, NoCache)):
        return cache
    if cache is True or cache == "default":
        return DiskCache("default", namespace)
    if isinstance(cache, (str, Path)):
        return DiskCache(cache, namespace)
    raise TypeError(f"cache must be a DiskCache, a path, True, False or None, not {type(cache).__name__}")
