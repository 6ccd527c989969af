"""The async core every hosted role shares: one place for concurrency, retries, budget and cache.

A role (translator, paraphraser, scorer) describes each item as a `Job`: a cache key, a coroutine
that sends one request, and a parser that turns the response into a JSON-able result (raising
`InvalidOutput` when the model's answer does not validate). `HostedClient.run(jobs)` answers
cached items from the on-disk cache, sends the rest at most `concurrency` at a time, retries
429/5xx/connection/timeout errors with exponential backoff (honouring `Retry-After`), re-asks on
invalid output, stores each result the moment it arrives (so a re-run after a crash resumes),
and returns the results beside the failures of single items instead of giving up on all of them.

The API key is read from the environment and never printed: it is kept out of `repr`, and
scrubbed from every failure message.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import os
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field

from promptmine.core.errors import PromptmineError
from promptmine.core.progress import log, plural, progress
from promptmine.core.cache import open_cache

# Local servers (vLLM, llama.cpp, Ollama, the test server) accept any key; OpenAI's does not.
PLACEHOLDER_KEY = "unused"
MAX_RETRY_AFTER = 120.0  # never sleep longer than this on a server's say-so
MAX_BACKOFF = 30.0  # the longest delay between retries of our own accord


class InvalidOutput(Exception):
    """The server answered, but not with what was asked for (bad JSON, wrong schema, lost slots)."""


class Unsupported(Exception):
    """The server does not offer a feature a role needs (an endpoint, log-probabilities)."""


@dataclass(frozen=True)
class Job:
    """One item of work: answered from the cache under `key`, else by `send` + `parse`."""

    key: str
    label: str  # what the failure report shows, e.g. the text being translated
    send: Callable[[Any], Awaitable[Any]]  # (AsyncOpenAI) -> response
    parse: Callable[[Any], Any]  # response -> JSON-able result; raises InvalidOutput


@dataclass(frozen=True)
class ItemFailure:
    label: str
    reason: str
    attempts: int
    permanent: bool = False  # the server refused the request itself (4xx, unsupported): retrying won't help


@dataclass
class RunResult:
    results: dict[str, Any] = field(default_factory=dict)  # job key -> parsed result
    failures: list[ItemFailure] = field(default_factory=list)
    requests: int = 0  # HTTP requests this run sent (retries included)
    cached: int = 0  # items answered from the cache


class HostedOptions(BaseModel):
    """How to reach an OpenAI-compatible server and how hard to try: the options of every hosted role
    (each a flag, but `cache`: the command's --no-cache) and the client's configuration. The API key
    is read from the environment variable `api_key_env` and never printed. The server, the model and
    how answers are asked for (structured output, temperature) are in the roles' `identity`; how hard
    to try is not."""

    base_url: str | None = Field(None, description="server URL, e.g. http://127.0.0.1:8000/v1 for vLLM or "
                                                   "llama.cpp (default: OpenAI's API)")
    model: str = Field("gpt-4o-mini", description="the model name the server knows",
                       json_schema_extra={"alias": "--hosted-model"})
    api_key_env: str = Field("OPENAI_API_KEY", description="environment variable holding the API key "
                                                           "(not needed for a local --base-url)",
                             json_schema_extra={"identity": False})
    concurrency: int = Field(8, ge=1, description="requests in flight at once", json_schema_extra={"identity": False})
    timeout: float = Field(60.0, gt=0, description="per-request timeout in seconds",
                           json_schema_extra={"identity": False})
    max_retries: int = Field(4, ge=0, description="retries per item on 429/5xx/timeouts/invalid output, with "
                                                  "exponential backoff honouring Retry-After",
                             json_schema_extra={"identity": False})
    request_budget: int | None = Field(None, ge=0, description="stop after N requests in all (retries count); "
                                                               "unanswered items are reported, answered ones cached",
                                       json_schema_extra={"identity": False})
    backoff: float = Field(1.0, ge=0, description="first retry delay in seconds, doubling",
                           json_schema_extra={"identity": False})
    cache: bool = Field(True, description="keep answers in the on-disk cache (the command's --no-cache)",
                        json_schema_extra={"cli": False, "identity": False})
    structured_output: Literal["json_schema", "json_object", "none"] = Field(
        "json_schema", description="how to ask for JSON: json_schema (OpenAI, vLLM, llama.cpp), json_object "
                                   "(older servers), none (prompt only); answers are validated either way")
    temperature: float = Field(0.8, ge=0, description="sampling temperature when asking for several answers")

    @property
    def server(self) -> str:
        return (self.base_url or "https://api.openai.com/v1").rstrip("/")


def retry_after_seconds(headers: Any) -> float | None:
    """Seconds the server asked us to wait (`retry-after-ms`, `retry-after` as seconds or a date)."""
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, min(float(value) * scale, MAX_RETRY_AFTER))
        except ValueError:
            parsed = email.utils.parsedate_tz(value)
            if parsed is not None:
                return max(0.0, min(email.utils.mktime_tz(parsed) - time.time(), MAX_RETRY_AFTER))
    return None


LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]", "0.0.0.0")


def refused(exc: BaseException) -> bool:
    """Whether the attempt failed because nothing listens at the address (ECONNREFUSED anywhere in
    the exception's chain): a server that is not running, not a busy one."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, ConnectionRefusedError) or "connection refused" in str(exc).lower() \
                or "errno 111" in str(exc).lower():
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def is_local(url: str) -> bool:
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or ""
    return host in LOCAL_HOSTS or host.startswith("127.")


def _classify(exc: BaseException) -> tuple[str, bool, float | None]:
    """(reason, retryable, server-requested delay) for an exception raised by one attempt."""
    import openai

    if isinstance(exc, InvalidOutput):
        return f"invalid output: {exc}", True, None
    if isinstance(exc, openai.APITimeoutError):
        return "timed out", True, None
    if isinstance(exc, openai.APIConnectionError):
        return f"connection error: {exc}", True, None
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        retryable = status in (408, 409, 429) or status >= 500
        return f"HTTP {status}: {exc.message}", retryable, retry_after_seconds(exc.response.headers)
    if isinstance(exc, (json.JSONDecodeError, UnicodeDecodeError, openai.APIResponseValidationError)):
        return f"malformed response: {exc}", True, None
    if isinstance(exc, Unsupported):
        return str(exc), False, None
    # Anything else from the HTTP stack (e.g. a decoding error of a broken body) counts as transient.
    return f"{type(exc).__name__}: {exc}", True, None


def run_sync(make_coro: Callable[[], Awaitable[Any]]) -> Any:
    """Run a coroutine to completion from synchronous code, even inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make_coro())
    with ThreadPoolExecutor(1) as pool:  # a caller already in a loop (e.g. a notebook)
        return pool.submit(lambda: asyncio.run(make_coro())).result()


class HostedClient:
    """Sends jobs to an OpenAI-compatible server; one instance per adapter, counting its requests."""

    def __init__(self, config: HostedOptions, cache_namespace: str = "hosted"):
        self.config = config
        self._key = self._read_key(config)
        # cache=False (or PROMPTMINE_NO_CACHE=1): answers are neither read from nor written to any cache
        self.cache = open_cache(config.cache, cache_namespace)
        self.requests_sent = 0  # across every run, checked against the budget
        self.failures: list[ItemFailure] = []  # of the latest run

    def __repr__(self) -> str:  # never the key
        return f"HostedClient(server={self.config.server!r}, model={self.config.model!r})"

    @staticmethod
    def _read_key(config: HostedOptions) -> str:
        key = os.environ.get(config.api_key_env, "").strip()
        if key:
            return key
        if config.base_url is None or "api.openai.com" in config.base_url:
            raise PromptmineError(
                f"no API key: set the environment variable {config.api_key_env} "
                "(or name another one with --api-key-env), or point --base-url at a local server")
        return PLACEHOLDER_KEY

    def scrub(self, text: str) -> str:
        """`text` with the API key blanked out, for anything shown to the user."""
        return text.replace(self._key, "***") if self._key != PLACEHOLDER_KEY else text

    def _new_openai(self):
        from openai import AsyncOpenAI

        # max_retries=0: retries happen here, where the budget and Retry-After are honoured.
        return AsyncOpenAI(api_key=self._key, base_url=self.config.base_url,
                           timeout=self.config.timeout, max_retries=0)

    # -- running jobs ---------------------------------------------------------------------------

    def run(self, jobs: Sequence[Job], desc: str = "hosted requests", quiet: bool = False) -> RunResult:
        """Answer every job, from the cache or the server; failures are collected, not raised
        (and listed on stderr unless `quiet`)."""
        unique: dict[str, Job] = {}
        for job in jobs:
            unique.setdefault(job.key, job)
        out = RunResult()
        out.results = self.cache.get_many(list(unique))
        out.cached = len(out.results)
        todo = [job for key, job in unique.items() if key not in out.results]
        if todo:
            before = self.requests_sent
            run_sync(lambda: self._run_async(todo, out, desc))
            out.requests = self.requests_sent - before
        self.failures = out.failures
        if out.failures and not quiet:
            self._report(out, len(unique))
        return out

    async def _run_async(self, jobs: list[Job], out: RunResult, desc: str) -> None:
        gate = asyncio.Semaphore(self.config.concurrency)
        bar = progress(total=len(jobs), desc=desc, unit="item")
        try:
            async with self._new_openai() as api:
                async def one(job: Job) -> None:
                    result, failure = await self._attempts(api, gate, job)
                    if failure is None:
                        out.results[job.key] = result
                        self.cache.set(job.key, result)  # at once: a crash keeps what is done
                    else:
                        out.failures.append(failure)
                    bar.update(1)

                await asyncio.gather(*(one(job) for job in jobs))
        finally:
            bar.close()

    async def _attempts(self, api, gate: asyncio.Semaphore, job: Job) -> tuple[Any, ItemFailure | None]:
        cfg = self.config
        reason = "not sent"
        for attempt in range(cfg.max_retries + 1):
            if cfg.request_budget is not None and self.requests_sent >= cfg.request_budget:
                return None, ItemFailure(job.label, f"request budget ({cfg.request_budget}) exhausted"
                                         + (f" after: {reason}" if attempt else ""), attempt)
            self.requests_sent += 1
            try:
                async with gate:
                    response = await job.send(api)
                return job.parse(response), None
            except Exception as exc:  # noqa: BLE001 - classified below; unknown ones retried then reported
                reason, retryable, server_delay = _classify(exc)
                reason = self.scrub(reason)
                if refused(exc):  # nothing listens there: no backoff (a local one is not starting by itself)
                    reason = f"connection refused: no server at {cfg.server}"
                    if is_local(cfg.server) or attempt >= min(cfg.max_retries, 2):
                        return None, ItemFailure(job.label, reason, attempt + 1)
                    await asyncio.sleep(0.2)
                    continue
                if not retryable or attempt == cfg.max_retries:
                    return None, ItemFailure(job.label, reason, attempt + 1, permanent=not retryable)
                if isinstance(exc, InvalidOutput):
                    continue  # ask again at once: the server is fine, the answer was not
                delay = min(MAX_BACKOFF, cfg.backoff * 2 ** attempt) * random.uniform(0.5, 1.0)
                if server_delay is not None:
                    delay = max(delay, server_delay)
                await asyncio.sleep(delay)  # outside the gate: waiting does not hold a slot
        return None, ItemFailure(job.label, reason, cfg.max_retries + 1)

    def _report(self, out: RunResult, total: int) -> None:
        log(f"hosted: {len(out.failures):,} of {plural(total, 'item')} failed ({self.config.server}, "
            f"model {self.config.model}); the others are kept and cached, re-run to retry the failed ones")
        for failure in out.failures[:5]:
            log(f"  {failure.label!r}: {failure.reason} (after {plural(failure.attempts, 'attempt')})")
        if len(out.failures) > 5:
            log(f"  ... and {len(out.failures) - 5} more")
