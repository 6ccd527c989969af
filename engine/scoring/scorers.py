"""Scorers behind the score cache: `load_scorer` builds one from the registry, `CachedScorer` keeps
every (model, template, subject, candidates) row on disk so re-runs and selection are instant, and
`CalibratedScorer` subtracts a content-free prompt's scores."""

from __future__ import annotations

from collections.abc import Sequence

from promptmine.core.errors import PromptmineError
from promptmine.models.score import DEFAULT_SCORER
from promptmine.scoring.metrics import FLOOR


class CachedScorer:
    """Wraps any Scorer: scores come from the cache when known, else from the model.

    Cache entries are keyed by (scorer identity, template, subject, candidate objects in order) and
    hold the subject's whole row, computed in one call with exactly those candidates. A score is
    thus the one an uncached run computes: in bfloat16 a causal score moved by up to 0.45 nats
    when its subject's candidate set changed (the token trie's layout changes the rounding), so
    scores computed beside other candidates are never mixed into a row. `cache`: True (the on-disk
    cache), a path or a DiskCache, or False/None for none (`promptmine.core.cache.open_cache`)."""

    def __init__(self, scorer, cache=True):
        from promptmine.core.cache import open_cache

        self.scorer = scorer
        self.cache = open_cache(cache, "scores")
        self.computed = 0  # (subject, object) scores computed by the model in this process
        self.reused = 0  # ... and read from the cache

    @property
    def identity(self) -> str:
        return self.scorer.identity

    @property
    def description(self) -> str:
        return getattr(self.scorer, "description", self.identity)

    def score(self, template: str, subjects: Sequence[str], objects: Sequence[str]):
        """A [len(subjects), len(objects)] numpy array of log-probabilities."""
        return self.score_many([(template, subjects, objects)])[0]

    def score_many(self, jobs: Sequence[tuple[str, Sequence[str], Sequence[str]]]) -> list:
        """`score` of several (template, subjects, objects) jobs: what the cache lacks goes to the
        scorer in one `score_many` call when it has one (the causal scorer packs the jobs' rows into
        shared forward passes), else one `score` call per job."""
        import numpy as np

        from promptmine.core.cache import cache_key

        cands = [list(dict.fromkeys(objects)) for _, _, objects in jobs]
        keys_of = [[cache_key(self.identity, t, s, c) for s in subjects] for (t, subjects, _), c in zip(jobs, cands)]
        known = self.cache.get_many(list(dict.fromkeys(k for keys in keys_of for k in keys)))
        asks, owners, asked = [], [], set()  # scorer jobs (whole rows), the keys of their rows
        for (template, subjects, _), c, keys in zip(jobs, cands, keys_of):
            todo = {s: k for s, k in zip(subjects, keys) if k not in known and k not in asked}
            asked.update(todo.values())
            if todo and c:
                asks.append((template, list(todo), c))
                owners.append(list(todo.values()))
            else:
                known.update({k: {} for k in todo.values()})
        many = getattr(self.scorer, "score_many", None)
        results = many(asks) if many is not None and len(asks) > 1 else [self.scorer.score(*a) for a in asks]
        updates = {}
        for (_, _, c), keys, rows in zip(asks, owners, results):
            for k, row in zip(keys, rows):
                updates[k] = dict(zip(c, map(float, row)))
        known.update(updates)
        if updates:
            self.cache.set_many(updates)
        n_new = sum(len(keys) * len(c) for (_, _, c), keys in zip(asks, owners))
        self.computed += n_new
        self.reused += sum(len(subjects) * len(c) for (_, subjects, _), c in zip(jobs, cands)) - n_new
        return [np.array([[known[k][o] for o in objects] for k in keys], dtype=np.float64).reshape(
            len(subjects), len(objects)) for (_, subjects, objects), keys in zip(jobs, keys_of)]


class CalibratedScorer:
    """Domain-conditional PMI (Holtzman et al. 2021; Zhao et al. 2021's content-free input): the
    object's log-probability under the prompt minus its log-probability under the same prompt with
    the subject replaced by a neutral filler. Frequent, short objects that the template favours
    whatever the subject stop winning by default.

    Wraps a CachedScorer, so it works for every scorer: the content-free rows are scored through it
    (cached on disk like any score, keyed by the filler as subject) and kept in memory per
    (template, candidate set); several fillers are averaged in probability space."""

    def __init__(self, scorer: CachedScorer, fillers: Sequence[str] = ("N/A",)):
        if not fillers:
            raise PromptmineError("calibration needs at least one content-free filler")
        self.scorer = scorer
        self.fillers = list(dict.fromkeys(fillers))
        self._free: dict[tuple[str, tuple[str, ...]], object] = {}

    @property
    def identity(self) -> str:
        return f"{self.scorer.identity}+calibrated[{'|'.join(self.fillers)}]"

    @property
    def computed(self) -> int:
        return self.scorer.computed

    @property
    def reused(self) -> int:
        return self.scorer.reused

    def content_free(self, template: str, objects: Sequence[str]):
        """log mean_f P(object | template with filler f as subject), one value per object."""
        key = (template, tuple(objects))
        if key not in self._free:
            self._set_free(key, self.scorer.score(template, self.fillers, objects))
        return self._free[key]

    def _set_free(self, key, rows) -> None:
        import numpy as np

        rows = np.maximum(rows, FLOOR)
        top = rows.max(axis=0)
        self._free[key] = top + np.log(np.exp(rows - top).mean(axis=0))

    def score(self, template: str, subjects: Sequence[str], objects: Sequence[str]):
        """log P(o | prompt(x)) - log P(o | prompt(filler)); objects the model cannot produce stay at FLOOR."""
        return self.score_many([(template, subjects, objects)])[0]

    def score_many(self, jobs: Sequence[tuple[str, Sequence[str], Sequence[str]]]) -> list:
        """`score` of several jobs, their raw and content-free rows asked of the scorer together."""
        import numpy as np

        free = [key for key in dict.fromkeys((t, tuple(objects)) for t, _, objects in jobs) if key not in self._free]
        asks = [(t, subjects, objects) for t, subjects, objects in jobs] + \
            [(t, self.fillers, list(objects)) for t, objects in free]
        many = getattr(self.scorer, "score_many", None)
        out = many(asks) if many is not None else [self.scorer.score(*a) for a in asks]
        for key, rows in zip(free, out[len(jobs):]):
            self._set_free(key, rows)
        return [np.where(raw <= FLOOR, FLOOR, raw - self._free[(t, tuple(objects))][None, :])
                for (t, _, objects), raw in zip(jobs, (np.maximum(r, FLOOR) for r in out[:len(jobs)]))]


def calibrated(scorer: CachedScorer, fillers: Sequence[str] = ("N/A",)) -> CalibratedScorer:
    return CalibratedScorer(scorer, fillers)


def load_scorer(scorer=DEFAULT_SCORER, options: dict | None = None, *, cache: bool = True) -> CachedScorer:
    """A scorer behind the score cache: `scorer` is a registry name (`causal`, `masked`, `openai`, ...)
    built with `options` (its `Options` fields, e.g. `{"model": "bert-base-cased", "device": "cpu"}`),
    a scorer object, or a CachedScorer (used as it is). `cache=False` neither reads nor writes the
    on-disk caches (scores, and a hosted scorer's answers)."""
    if isinstance(scorer, CachedScorer):
        return scorer
    if isinstance(scorer, str):
        from promptmine.models.score import SCORERS

        options = dict(options or {})
        if not cache and "cache" in SCORERS.options(scorer).model_fields:
            options.setdefault("cache", False)
        try:
            scorer = SCORERS.create(scorer, options)
        except (OSError, ValueError) as e:
            raise PromptmineError(f"cannot load the {scorer} scorer: {e}") from None
    return CachedScorer(scorer, cache)
