"""An OpenAI-compatible server (OpenAI, vLLM, llama.cpp, Ollama, ...) in every role a local model plays.

- `OpenAITranslator` (`--backend openai`): chat completion with structured output
  `{"translation": ...}`, validated with pydantic and asked again when invalid.
- `OpenAIParaphraser` (`--backend openai --direct`): asks for N paraphrases keeping `[X]` and `[Y]`,
  returns the valid ones.
- `OpenAIScorer` (`--scorer openai`): log P(object + rest of the statement | text before it), as the
  local causal scorer, from the completions endpoint's prompt log-probabilities (`echo` +
  `logprobs`); where a server only offers chat `logprobs`, the
  first token of the object among the `top_logprobs` of the next token (an approximation, said so
  on stderr); a clear error when it offers neither.

Retries, concurrency, the request budget and the on-disk cache live in `models.hosted_client`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from promptmine.core.errors import PromptmineError
from promptmine.core.progress import log, plural
from promptmine.core.records import X, Y, Template, normalize_text
from promptmine.core.cache import cache_key
from promptmine.models.hosted_client import HostedClient, HostedOptions, InvalidOutput, Job, RunResult, Unsupported
from promptmine.models.registry import Availability, importable
from promptmine.models.score import Scorer
from promptmine.models.translate import Hypothesis, Paraphraser, Translator

PROMPT_VERSION = 2  # bump when a prompt below changes, so cached answers are not reused
DOC_SEP = "<|endoftext|>"  # the document separator GPT-2-style models (and the local causal scorer) start with
UNLISTED_LOGPROB = -100.0  # chat scoring: an object whose first token is not among the top log-probs

LANGUAGES = {
    "en": "English", "de": "German", "fr": "French", "es": "Spanish", "pt": "Portuguese",
    "it": "Italian", "nl": "Dutch", "ru": "Russian", "zh": "Chinese", "ja": "Japanese",
    "ar": "Arabic", "pl": "Polish", "cs": "Czech", "fi": "Finnish", "sv": "Swedish", "tr": "Turkish",
}


class Translation(BaseModel):
    """The translator's response model."""

    translation: str = Field(min_length=1)


class Paraphrases(BaseModel):
    """The paraphraser's response model."""

    paraphrases: list[str] = Field(min_length=1)


# -- shared helpers -----------------------------------------------------------------------------

_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$")


def parse_json_answer(content: str | None, model: type[BaseModel]) -> BaseModel:
    """Validate a chat answer against `model`; tolerates a ```json fence, raises InvalidOutput."""
    if not content or not content.strip():
        raise InvalidOutput("empty answer")
    text = _FENCE.sub("", content.strip())
    try:
        return model.model_validate_json(text)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "answer"
        raise InvalidOutput(f"{where}: {first['msg']} in {content[:80]!r}") from None


def _response_format(mode: str, name: str, model: type[BaseModel]) -> dict | None:
    if mode == "json_object":
        return {"type": "json_object"}
    if mode == "none":
        return None
    schema = model.model_json_schema()
    schema["additionalProperties"] = False
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}


def _choices(response: Any) -> list:
    """The choices of a chat/completions response; anything else is a malformed response."""
    choices = getattr(response, "choices", None)
    if not isinstance(choices, list) or not choices:
        raise InvalidOutput(f"no choices in the response ({type(response).__name__})")
    return choices


_KEPT_TOKEN = re.compile(r"\[(?:X|Y|\d+)\]")


def kept_tokens(text: str) -> list[str]:
    """The tokens an answer must give back exactly, in order: the slots `[X]`/`[Y]` and the numbered
    tokens `[1]`, `[2]`, ... that stand for protected spans of a free-text prompt (promptmine.paraphrasing.spans)."""
    return _KEPT_TOKEN.findall(text)


class _HostedRole:
    """What all three roles share: the options, the client, the identity, the failure report of the last call."""

    name = "openai"
    role = "hosted"
    Options = HostedOptions

    def __init__(self, *, options: HostedOptions | None = None, **fields):
        super().__init__(options=options, **fields)
        self.client = HostedClient(self.options)
        self.last_run: RunResult | None = None

    def identity_values(self) -> dict:
        """The server the base URL resolves to (OpenAI's API when none is given)."""
        return {"base_url": self.options.server}

    @classmethod
    def availability(cls) -> Availability:
        """The openai package; the API key matters only for OpenAI's own API, not a local --base-url."""
        import os

        if not importable("openai"):
            return Availability(False, "the openai package is not installed", "pip install openai")
        env = HostedOptions.model_fields["api_key_env"].default
        key = f"{env} is set" if os.environ.get(env, "").strip() else \
            f"{env} is not set: needed for OpenAI's API, not for a local server (--base-url)"
        return Availability(True, f"openai package installed; {key}")

    @property
    def failures(self):
        """Items of the latest call that failed (label, reason, attempts)."""
        return self.client.failures

    def _run(self, jobs: list[Job], desc: str, quiet: bool = False) -> RunResult:
        self.last_run = self.client.run(jobs, desc=desc, quiet=quiet)
        return self.last_run

    def _fail_if_nothing(self, run: RunResult, n_items: int) -> None:
        """Every item failed: say why once, instead of handing back an empty result."""
        if n_items and len(run.failures) == n_items and not run.results:
            first = run.failures[0]
            raise PromptmineError(f"the hosted model answered none of {n_items} {self.role} requests "
                                  f"({self.options.server}, model {self.options.model}): {first.reason}")

    def _chat_kwargs(self, messages: list[dict], name: str, schema: type[BaseModel], n: int) -> dict:
        kwargs: dict[str, Any] = {"model": self.options.model, "messages": messages}
        fmt = _response_format(self.options.structured_output, name, schema)
        if fmt is not None:
            kwargs["response_format"] = fmt
        if n > 1:
            kwargs.update(n=n, temperature=self.options.temperature)
        else:
            kwargs["temperature"] = 0.0
        return kwargs


# -- translator ---------------------------------------------------------------------------------

class OpenAITranslator(_HostedRole, Translator):
    """Translator protocol over chat completions with a `{"translation": ...}` response model."""

    role = "translation"
    default_pivots = ("de", "fr")  # when `promptmine paraphrase` is given no --pivots
    placeholder_styles = ("brackets",)  # [X]/[Y] travel as they are: the prompt says to keep them

    def supports(self, src: str, tgt: str) -> bool:
        return src != tgt  # a general model translates any pair it is asked for

    def translate(self, texts: Sequence[str], src: str, tgt: str, n: int = 1) -> list[list[Hypothesis]]:
        jobs = [self._job(text, src, tgt, n) for text in texts]
        run = self._run(jobs, desc=f"translate {src}->{tgt}")
        self._fail_if_nothing(run, len(set(texts)))
        return [[Hypothesis(t) for t in run.results.get(job.key, [])] for job in jobs]

    def _job(self, text: str, src: str, tgt: str, n: int) -> Job:
        src_name, tgt_name = LANGUAGES.get(src, src), LANGUAGES.get(tgt, tgt)
        system = (f"Translate the user's text from {src_name} to {tgt_name}. Keep the placeholders "
                  f"{X} and {Y} and numbered tokens such as [1] exactly as they are, once each. Answer only with a JSON object "
                  '{"translation": "<the translation>"}.')
        messages = [{"role": "system", "content": system}, {"role": "user", "content": text}]
        kwargs = self._chat_kwargs(messages, "translation", Translation, n)
        must_keep = kept_tokens(text)

        async def send(api):
            return await api.chat.completions.create(**kwargs)

        def parse(response) -> list[str]:
            out: list[str] = []
            problems: list[str] = []
            for choice in _choices(response):
                try:
                    t = parse_json_answer(choice.message.content, Translation).translation.strip()
                except InvalidOutput as e:
                    problems.append(str(e))
                    continue
                if must_keep and sorted(kept_tokens(t)) != sorted(must_keep):
                    problems.append(f"lost or repeated a placeholder ({', '.join(must_keep)}) in {t!r}")
                elif t not in out:
                    out.append(t)
            if not out:
                raise InvalidOutput("; ".join(problems) or "no translation")
            return out[:n]

        key = cache_key(self.identity, "translate", PROMPT_VERSION, src, tgt, n, text)
        return Job(key=key, label=text, send=send, parse=parse)


# -- paraphraser --------------------------------------------------------------------------------

class OpenAIParaphraser(_HostedRole, Paraphraser):
    """Paraphraser protocol: N rewrites of a template in one request, validated to keep [X] and [Y]."""

    role = "paraphrase"

    def paraphrase(self, texts: Sequence[str], n: int) -> list[list[Hypothesis]]:
        jobs = [self._job(text, n) for text in texts]
        run = self._run(jobs, desc="paraphrase")
        self._fail_if_nothing(run, len(set(texts)))
        return [[Hypothesis(t) for t in run.results.get(job.key, [])] for job in jobs]

    def _job(self, text: str, n: int) -> Job:
        system = (f"Write {n} different paraphrases of the user's sentence template. Each paraphrase "
                  f"must keep the placeholders {X} and {Y} (and numbered tokens such as [1]) exactly as written, once each, and mean the "
                  'same. Answer only with a JSON object {"paraphrases": ["...", ...]}.')
        messages = [{"role": "system", "content": system}, {"role": "user", "content": text}]
        kwargs = self._chat_kwargs(messages, "paraphrases", Paraphrases, 1)
        fmt = kwargs.get("response_format")
        if fmt and fmt["type"] == "json_schema":  # at most n, so guided decoding stops there
            items = fmt["json_schema"]["schema"]["properties"]["paraphrases"]
            items["maxItems"] = n
        kwargs["temperature"] = self.options.temperature
        source = normalize_text(text)
        must_keep = sorted(kept_tokens(text))

        async def send(api):
            return await api.chat.completions.create(**kwargs)

        def parse(response) -> list[str]:
            answer = parse_json_answer(_choices(response)[0].message.content, Paraphrases)
            out: list[str] = []
            seen = {source}
            for p in answer.paraphrases:
                p = " ".join(p.split())
                if sorted(kept_tokens(p)) == must_keep and normalize_text(p) not in seen:
                    seen.add(normalize_text(p))
                    out.append(p)
            if not out:
                raise InvalidOutput(f"no paraphrase kept {X} and {Y} once each: {answer.paraphrases[:3]!r}")
            return out[:n]

        key = cache_key(self.identity, "paraphrase", PROMPT_VERSION, n, text)
        return Job(key=key, label=text, send=send, parse=parse)


# -- scorer -------------------------------------------------------------------------------------

def span_logprob(offsets: Sequence[int], logprobs: Sequence[float | None], text_len: int,
                 start: int, end: int) -> float:
    """Sum of the log-probs of the tokens overlapping characters [start, end) of the prompt.

    `offsets` are the tokens' character offsets (completions `text_offset`); tokens at or past
    `text_len` were generated, not part of the prompt, and are ignored.
    """
    total, found = 0.0, False
    for i, begin in enumerate(offsets):
        if begin >= text_len:
            break
        finish = offsets[i + 1] if i + 1 < len(offsets) and offsets[i + 1] <= text_len else text_len
        if begin < end and finish > start:
            lp = logprobs[i]
            if lp is None:
                raise InvalidOutput(f"no log-prob for the token at offset {begin}")
            total += float(lp)
            found = True
    if not found:
        raise InvalidOutput(f"no token covers characters {start}-{end}")
    return total


class OpenAIScorer(_HostedRole, Scorer):
    """Scorer protocol from the server's log-probs: log P(object + rest of the statement | text
    before [Y]) like the local causal scorer; `score_suffix=False` scores the object's tokens only."""

    role = "scoring"
    identity_ignores = ("structured_output", "temperature")  # chat answers' settings: scoring asks for none
    batch_size = 16  # statements per /completions request (the endpoint takes a list of prompts)
    top_logprobs = 20  # the most OpenAI's chat endpoint returns

    class Options(HostedOptions):
        scoring: Literal["auto", "completions", "chat"] = Field(
            "auto", description="prompt log-probs from /completions (echo+logprobs), first-token top_logprobs "
                                "from /chat/completions, or auto: the first the server offers",
            json_schema_extra={"flag": "--hosted-scoring"})
        score_suffix: bool = Field(True, description="score the object and the text after [Y] (--no-suffix: "
                                                     "the object's tokens only)",
                                   json_schema_extra={"flag": "--no-suffix"})
        start_text: str = Field("auto", description="text every scored statement starts with, as the local causal "
                                                    "scorer starts with the document separator: auto (<|endoftext|> "
                                                    "when the server reads it as one token, else nothing)")

    def __init__(self, *, options: Options | None = None, **fields):
        super().__init__(options=options, **fields)
        self.score_suffix = self.options.score_suffix
        self._start: str | None = None if self.options.start_text == "auto" else self.options.start_text
        self._mode: str | None = None if self.options.scoring == "auto" else self.options.scoring

    def identity_values(self) -> dict:
        """`auto` scores by completions until the server turns out to offer chat log-probs only."""
        return {**super().identity_values(), "scoring": "chat" if self._mode == "chat" else "completions"}

    @property
    def description(self) -> str:
        how = {"chat": "first-token log-probs", "completions": "prompt log-probs"}.get(self._mode, "log-probs")
        return f"{self.options.model} at {self.options.server} (OpenAI-compatible server, {how})"

    def score(self, template: str, subjects: Sequence[str], objects: Sequence[str]) -> list[list[float]]:
        t = Template(text=template)
        if not subjects or not objects:
            return [[] for _ in subjects]
        if self._mode is None:
            self._mode = self._detect(t, subjects[0], objects[0])
        if self._mode == "completions":
            return self._score_completions(t, subjects, objects)
        return self._score_chat(t, subjects, objects)

    # completions: exact prompt log-probs

    def _statement(self, t: Template, subject: str, obj: str) -> tuple[str, int, int]:
        """(prompt, first and past-last character scored): the start text, the statement up to [Y],
        the object, and the rest without trailing whitespace, as the local causal scorer reads it."""
        before, after = t.split_at_y(subject)
        before = (self._start or "") + before
        if not before:
            before = "\n"  # the first token of a prompt has no log-prob: give the object a context
        text = before + obj + after.rstrip()
        return text, len(before), len(text) if self.score_suffix else len(before) + len(obj)

    def _probe_start(self) -> str:
        """DOC_SEP when the server reads it as one token, else "". A small causal LM's log-probs depend
        a lot on what the text starts with: SmolLM2 given the bare statement scores it up to several nats
        away from the local scorer, which starts every text with the separator; so prompts start the same
        way. Servers for models with a BOS token (Llama, Mistral) add it themselves and do not know DOC_SEP."""
        prompt = DOC_SEP + "The"
        key = cache_key(self.name, self.options.server, self.options.model, "start-probe", prompt)

        async def send(api):
            return await api.completions.create(model=self.options.model, prompt=prompt, echo=True,
                                                logprobs=1, max_tokens=1, temperature=0.0)

        def parse(response) -> str:
            lp = getattr(_choices(response)[0], "logprobs", None)
            offsets = list(getattr(lp, "text_offset", None) or [])
            one_token = len(DOC_SEP) in offsets and not any(0 < o < len(DOC_SEP) for o in offsets)
            return DOC_SEP if one_token else ""

        run = self._run([Job(key=key, label=prompt, send=send, parse=parse)], desc="probe", quiet=True)
        return "" if run.failures else run.results[key]

    def _completion_jobs(self, statements: list[tuple[str, int, int]]) -> list[Job]:
        jobs = []
        for i in range(0, len(statements), self.batch_size):
            batch = statements[i:i + self.batch_size]
            prompts = [s for s, _, _ in batch]
            key = cache_key(self.identity, "echo-logprobs", prompts, [(a, b) for _, a, b in batch])

            async def send(api, prompts=prompts):
                return await api.completions.create(model=self.options.model, prompt=prompts, echo=True,
                                                    logprobs=1, max_tokens=1, temperature=0.0)

            def parse(response, batch=batch) -> list[float]:
                by_index = {getattr(c, "index", i): c for i, c in enumerate(_choices(response))}
                scores = []
                for j, (text, start, end) in enumerate(batch):
                    choice = by_index.get(j)
                    lp = getattr(choice, "logprobs", None)
                    if choice is None or lp is None or lp.token_logprobs is None or lp.text_offset is None:
                        raise Unsupported("the server returned no prompt log-probs (completions echo+logprobs)")
                    if len(lp.text_offset) != len(lp.token_logprobs):
                        raise InvalidOutput("text_offset and token_logprobs differ in length")
                    scores.append(span_logprob(lp.text_offset, lp.token_logprobs, len(text), start, end))
                return scores

            jobs.append(Job(key=key, label=prompts[0] + (f" (+{len(prompts) - 1} more)" if len(prompts) > 1 else ""),
                            send=send, parse=parse))
        return jobs

    def _score_completions(self, t: Template, subjects: Sequence[str], objects: Sequence[str]) -> list[list[float]]:
        if self._start is None:
            self._start = self._probe_start()
        statements = [self._statement(t, s, o) for s in subjects for o in objects]
        jobs = self._completion_jobs(statements)
        run = self._run(jobs, desc="score (hosted)")
        self._raise_on_failures(run, len(jobs))
        flat = [v for job in jobs for v in run.results[job.key]]
        return [flat[i * len(objects):(i + 1) * len(objects)] for i in range(len(subjects))]

    # chat: first-token top_logprobs

    def _chat_job(self, prefix: str) -> Job:
        messages = [
            {"role": "system", "content": "Continue the user's text with the next word. Answer with that word only."},
            {"role": "user", "content": prefix.rstrip()},
        ]
        key = cache_key(self.identity, "chat-top-logprobs", PROMPT_VERSION, self.top_logprobs, prefix)

        async def send(api):
            return await api.chat.completions.create(model=self.options.model, messages=messages, max_tokens=1,
                                                     temperature=0.0, logprobs=True, top_logprobs=self.top_logprobs)

        def parse(response) -> dict[str, float]:
            lp = getattr(_choices(response)[0], "logprobs", None)
            content = getattr(lp, "content", None)
            if not content:
                raise Unsupported("the server returned no chat logprobs")
            top = {e.token: float(e.logprob) for e in (content[0].top_logprobs or [])}
            top.setdefault(content[0].token, float(content[0].logprob))
            return top

        return Job(key=key, label=prefix, send=send, parse=parse)

    @staticmethod
    def first_token_logprob(top: dict[str, float], obj: str) -> float:
        """The log-prob of the longest listed token that begins `obj`; UNLISTED_LOGPROB if none does."""
        best, best_len = UNLISTED_LOGPROB, 0
        for token, lp in top.items():
            piece = token.strip()
            if piece and obj.startswith(piece) and len(piece) > best_len:
                best, best_len = lp, len(piece)
        return best

    def _score_chat(self, t: Template, subjects: Sequence[str], objects: Sequence[str]) -> list[list[float]]:
        jobs = [self._chat_job(t.split_at_y(s)[0]) for s in subjects]
        run = self._run(jobs, desc="score (hosted, chat)")
        self._raise_on_failures(run, len(set(j.key for j in jobs)))
        return [[self.first_token_logprob(run.results[job.key], o) for o in objects] for job in jobs]

    def _raise_on_failures(self, run: RunResult, n_jobs: int) -> None:
        """A rank over some objects only would be wrong: fail the call, keep the answers cached."""
        if run.failures:
            first = run.failures[0]
            raise PromptmineError(
                f"{len(run.failures)} of {plural(n_jobs, 'scoring request')} failed ({self.options.server}, "
                f"model {self.options.model}), first: {first.reason}; the {n_jobs - len(run.failures)} answered "
                "are cached, so a re-run resumes")

    def _detect(self, t: Template, subject: str, obj: str) -> str:
        """Which log-probs the server offers: prompt log-probs first, else chat top_logprobs."""
        probe = self._run(self._completion_jobs([self._statement(t, subject, obj)]), desc="probe", quiet=True)
        if not probe.failures:
            return "completions"
        why_not_completions = probe.failures[0]
        if not why_not_completions.permanent:
            raise PromptmineError(f"cannot reach the scoring server {self.options.server}: {why_not_completions.reason}")
        self._mode = "chat"
        chat = self._run([self._chat_job(t.split_at_y(subject)[0])], desc="probe", quiet=True)
        if not chat.failures:
            log(f"hosted scorer: {self.options.server} gives no prompt log-probs ({why_not_completions.reason}); "
                "scoring by the first token of each object among the chat top_logprobs (an approximation)")
            return "chat"
        self._mode = None
        raise PromptmineError(
            f"the server {self.options.server} (model {self.options.model}) offers no log-probabilities to score "
            f"with: completions echo+logprobs: {why_not_completions.reason}; chat logprobs: {chat.failures[0].reason}")
