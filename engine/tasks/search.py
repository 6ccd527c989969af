"""The task search: from the user's prompt and labelled examples to the prompt that makes their model
answer most correctly, judged on examples the search never looked at.

The search varies one part of the prompt at a time, in the order where small models gain most
(Zhao et al. 2021; Gao et al. 2021; Sclar et al. 2023; Lu et al. 2022), each stage starting from the
best prompt so far, which stays a candidate:

1. `calibration` and `labels`: the original prompt is scored once on the selection split with every
   candidate label word as a column (the user's words, their casing forms, and the words the model
   already prefers for each label's examples), and every (label words, calibration) readout is
   judged from those scores: no extra model work. With demonstrations in the prompt, other label
   words also relabel them, which makes new prompts to race.
2. `format`: field names, casing, separators, enumerators, how demonstrations carry their label.
3. `demos`: which examples from the labelled pool (label-balanced), how many, in what order; the
   user's own stay a candidate; never drawn from the held-out split.
4. `wording`: the instruction back-translated with its protected spans kept.

Stages 2-4 race their candidates over blocks of the selection split (promptmine.selection.Race:
successive halving with a paired bound), within a budget counted in (example, prompt) scorings.
Everything is deterministic for a given seed.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from promptmine.core.errors import PromptmineError
from promptmine.core.progress import log, plural
from promptmine.selection import Race, Strategy
from promptmine.tasks.data import Example, balanced_sample, label_index
from promptmine.tasks.prompt import Format, PromptSpec, parse_prompt, render, scoring_form, slots_of
from promptmine.scoring.metrics import accuracy
from promptmine.tasks.readout import (
    CALIBRATIONS, CONTENT_FREE, Readout, bias, calibrate, label_logprobs, propose_words, word_forms,
)
from promptmine.tasks.settings import DIMENSIONS, TaskSettings
# field names a format variant may give a slot, by slot name (the user's own name is always kept)
FIELD_NAMES = {"text": ("Text", "Input", "Sentence", "Review", "Article"),
               "premise": ("Premise", "Text", "Passage"), "hypothesis": ("Hypothesis", "Claim", "Question")}
ANSWER_NAMES = ("Answer", "Label")
# --dry-run's estimate: example tokens scored a second by SmolLM2-135M in bfloat16 on this project's idle
# 2-core machine (measured 2026-12-05: 300-480 at 2 threads on SST-2/AG News/RTE rows, ~320 per core
# in bench_task's parallel searches)
TOKENS_PER_SECOND = 400


@dataclass
class ExampleBlock:
    """A block of the selection split as racing reads it: example ids (indices into the task's
    examples), each one's gold label (an index into `objects`, the labels the readout scores)."""

    ids: list[int]
    gold: list[int]
    objects: list[str]

    @property
    def n(self) -> int:
        return len(self.ids)


@dataclass
class Variant:
    """A prompt the search scores: its text (with `{slots}`), its parts when known, its readout, and
    what it changed from the original."""

    key: str
    prompt: str
    spec: PromptSpec | None
    readout: Readout
    stage: str
    changes: tuple[str, ...] = ()


class VariantScorer:
    """Scores variants on examples, in the shape racing expects: `score(key, example ids, labels)` is
    the [examples, labels] matrix of calibrated log p(label | example) under variant `key`.

    Word scores come from the wrapped scorer (a CachedScorer: cached on disk) and are kept in memory
    per (template, text), so the content-free rows, the marginal prior's rows and any re-read cost
    nothing twice. `scorings` counts (example, variant) scorings asked of the scorer."""

    def __init__(self, scorer, examples: Sequence[Example], labels: Sequence[str], prior_ids: Sequence[int] = ()):
        self.scorer = scorer
        self.examples = list(examples)
        self.labels = list(labels)
        self.prior_ids = list(prior_ids)
        self.variants: dict[str, Variant] = {}  # every variant accepted for scoring
        self.made = 0  # variants made (keys stay unique when a rejected one is forgotten)
        self.columns: list[str] = []  # extra words every variant is scored with (re-choosable readouts)
        self._memo: dict[tuple[str, str], dict[str, float]] = {}
        self._forms: dict[str, tuple] = {}
        self._priors: dict[tuple[str, Readout], object] = {}
        self.scorings = 0

    @property
    def identity(self) -> str:
        return self.scorer.identity

    def add(self, variant: Variant) -> str:
        self.variants[variant.key] = variant
        return variant.key

    def words(self, variant: Variant, rows: Sequence[Mapping[str, str]], columns: Sequence[str]):
        """[rows, columns] word log-probabilities of `columns` after the variant filled with each row."""
        import numpy as np

        if variant.prompt not in self._forms:
            self._forms[variant.prompt] = scoring_form(variant.prompt)
        template, fill = self._forms[variant.prompt]
        texts = [fill(r) for r in rows]
        todo = [t for t in dict.fromkeys(texts) if any(c not in self._memo.get((template, t), {}) for c in columns)]
        if todo:  # whole rows: every column of a row comes from one scoring (bfloat16 rows move with the set)
            got = self.scorer.score(template, todo, list(columns))
            for t, row in zip(todo, got):
                self._memo[(template, t)] = dict(zip(columns, map(float, row)))
            self.scorings += len(todo)
        return np.array([[self._memo[(template, t)][c] for c in columns] for t in texts], dtype=np.float64)

    def has(self, variant: Variant, ids: Sequence[int]) -> bool:
        """Whether the variant's scores for these examples are already in memory (no model work to ask)."""
        template, fill = self._forms.get(variant.prompt, (None, None))
        return template is not None and all((template, fill(dict(self.examples[i].fields))) in self._memo for i in ids)

    def logp(self, variant: Variant, ids: Sequence[int], readout: Readout | None = None):
        """[ids, labels] calibrated log p(label | example) under the variant (its readout unless given)."""
        readout = readout or variant.readout
        columns = list(dict.fromkeys(readout.columns + self.columns))
        m = self.words(variant, [dict(self.examples[i].fields) for i in ids], columns)
        return calibrate(label_logprobs(m, columns, readout.words), self.prior(variant, readout))

    def prior(self, variant: Variant, readout: Readout):
        """The label prior a calibration divides by (None for raw): the content-free inputs' mean
        distribution, or the selection examples' (`prior_ids`, unlabelled use only)."""
        if readout.calibration == "raw":
            return None
        key = (variant.prompt, readout)
        if key not in self._priors:
            columns = list(dict.fromkeys(readout.columns + self.columns))
            slots = slots_of(variant.prompt)
            if readout.calibration == "contextual":
                rows = [{s: f for s in slots} for f in CONTENT_FREE]
            else:
                rows = [dict(self.examples[i].fields) for i in self.prior_ids]
            self._priors[key] = bias(label_logprobs(self.words(variant, rows, columns), columns, readout.words))
        return self._priors[key]

    def score_blocks(self, jobs: Sequence[tuple[str, ExampleBlock]]) -> list:
        """The evaluator racing calls (`promptmine.selection.racing`): per (variant key, block of
        examples), the [examples, labels] matrix and the gold labels' ranks."""
        from promptmine.scoring import Scored, ranks

        out = []
        for key, block in jobs:
            m = self.logp(self.variants[key], block.ids)
            out.append(Scored(key, m, ranks(m, block.gold) if block.n else []))
        return out


# -- variants of each dimension ---------------------------------------------------------------------

def format_variants(spec: PromptSpec, rng: random.Random, n: int) -> list[tuple[PromptSpec, str]]:
    """Up to `n` formats of `spec`: every single change of one grammar element first, then random
    combinations of two or three; (spec, what changed)."""
    fmt = spec.format
    choices: dict[str, list] = {"casing": ["as-is", "lower", "upper", "title"], "cue_sep": [": ", " - ", ":\n"]}
    for f in spec.fields:
        slot = (slots_of(f.value) or [""])[0]
        if f.cue:
            choices[f"name:{f.cue}"] = list(dict.fromkeys([f.cue, *FIELD_NAMES.get(slot, ("Text", "Input"))]))
    if spec.answer.endswith(":"):
        choices[f"name:{spec.answer[:-1]}"] = list(dict.fromkeys([spec.answer[:-1], *ANSWER_NAMES]))
    if spec.demos:
        choices["enumerator"] = ["", "1.", "(1)", "-"]
        choices["demo_sep"] = ["\n", "\n\n"]
        if len(spec.slots) == 1:
            choices["demo_style"] = ["inline", "block"]
            choices["inline_sep"] = [" // ", " -> ", " | "]

    def current(dim):
        if dim.startswith("name:"):
            return dict(fmt.names).get(dim[5:], dim[5:])
        return getattr(fmt, dim)

    def apply(f: Format, dim, value) -> Format:
        if dim.startswith("name:"):
            names = dict(f.names)
            names[dim[5:]] = value
            return Format(**{**f.__dict__, "names": tuple(names.items())})
        return Format(**{**f.__dict__, dim: value})

    singles = [(dim, v) for dim, vals in choices.items() for v in vals if v != current(dim)]
    out, seen = [], {render(spec)}
    for dim, v in singles:
        s = spec.with_(format=apply(fmt, dim, v))
        if render(s) not in seen:
            seen.add(render(s))
            out.append((s, f"{_dim_name(dim)} {_show(current(dim))} -> {_show(v)}"))
    rng.shuffle(out)
    combos = []
    for _ in range(20 * n):
        if len(combos) >= n // 3:
            break
        picks = rng.sample(singles, min(len(singles), rng.choice((2, 3))))
        if len({d for d, _ in picks}) < len(picks):
            continue
        f = fmt
        for dim, v in picks:
            f = apply(f, dim, v)
        s = spec.with_(format=f)
        if render(s) not in seen:
            seen.add(render(s))
            combos.append((s, "; ".join(f"{_dim_name(d)} {_show(current(d))} -> {_show(v)}" for d, v in picks)))
    return (combos + out)[:n] if len(out) >= n else (out + combos)[:n]


def _dim_name(dim: str) -> str:
    return {"cue_sep": "separator", "demo_sep": "between examples", "demo_style": "demonstration style",
            "inline_sep": "label separator"}.get(dim, "field" if dim.startswith("name:") else dim)


def _show(v) -> str:
    return repr(v) if isinstance(v, str) and (not v.strip() or v != v.strip()) else str(v)


def demo_variants(spec: PromptSpec, pool: Sequence[Example], rng: random.Random, *, max_demos: int,
                  draws: int = 3, orders: int = 2) -> list[tuple[PromptSpec, str]]:
    """Demonstrations from the labelled `pool`: `draws` label-balanced samples of 1..`max_demos`
    per label (drawn from the shorter half of the pool, so prompts stay short), `orders` reorderings
    of the incumbent's own, and none at all when the incumbent has some."""
    from promptmine.tasks.prompt import Demo

    slots = spec.slots
    usable = [e for e in pool if all(dict(e.fields).get(s, "").strip() for s in slots)]
    out = []
    if usable:
        length = sorted(sum(len(dict(e.fields)[s]) for s in slots) for e in usable)[len(usable) // 2]
        short = [e for e in usable if sum(len(dict(e.fields)[s]) for s in slots) <= length]
        for k in range(1, max_demos + 1):
            for d in range(draws):
                sample = balanced_sample(short, spec.labels, k, rng)
                demos = tuple(Demo(tuple((s, dict(e.fields)[s]) for s in slots), e.label) for e in sample)
                out.append((spec.with_(demos=demos), f"demonstrations: {k} per label from the pool (draw {d + 1})"))
    if spec.demos:
        for o in range(orders):
            demos = list(spec.demos)
            rng.shuffle(demos)
            out.append((spec.with_(demos=tuple(demos)), f"demonstrations reordered ({o + 1})"))
        out.append((spec.with_(demos=()), "demonstrations removed"))
    return out


# -- the search -------------------------------------------------------------------------------------

@dataclass
class StageLog:
    """One stage of the search: its candidates, the winner and what it cost."""

    name: str
    candidates: int
    winner: str
    scorings: int
    accuracy: float  # the winner's selection accuracy on the examples it was scored on
    facts: int


@dataclass
class SearchResult:
    """Where the search ended: the winner, the candidates for the ensembles, every variant tried."""

    original: Variant
    winner: Variant
    finalists: list  # promptmine.scoring.Scored of the last race, best first (template = variant key)
    gold: list[int]  # the finalists' shared selection examples' gold labels
    variants: dict[str, Variant]
    stages: list[StageLog]
    first_block: dict[str, float]  # variant key -> accuracy on the first block, shared by every variant
    readouts: list[tuple[Readout, float]]  # readouts judged on the original prompt, best first
    # the best variant tried that reads out the user's own label words (what readability costs), its
    # selection accuracy and the selection examples that is on (best_with_words)
    kept_words: Variant | None = None
    kept_words_accuracy: float = 0.0
    kept_words_examples: int = 0


def search(vs: VariantScorer, prompt: str, verbalisers: Mapping[str, Sequence[str]], sel_ids: Sequence[int],
           pool: Sequence[Example], settings: TaskSettings, *, strategy: Strategy, routes=(),
           cache="default") -> SearchResult:
    """Search `settings.dimensions` in order on the selection examples `sel_ids` of `vs` (the labels'
    words parsed: `verbalisers`); see the module doc. `strategy`: `settings.strategy` with its budget
    (`optimize_task.default_strategy`): promptmine.selection.Race (its `budget` is the whole search's,
    in (example, prompt) scorings, shared equally by the racing stages) or Exhaustive; `settings.k`: the
    finalists the ensembles use."""
    dimensions, seed, k = settings.dimensions, settings.seed, settings.k
    keep, keep_regex = settings.keep, settings.keep_regex

    unknown = [d for d in dimensions if d not in DIMENSIONS]
    if unknown:
        raise PromptmineError(f"unknown dimension(s) {', '.join(unknown)}; choose from {', '.join(DIMENSIONS)}")
    labels = list(verbalisers)
    gold_all = label_index(vs.examples, labels)
    rng = random.Random(seed)
    order = list(sel_ids)
    random.Random(f"{seed}:task-blocks").shuffle(order)
    budget = getattr(strategy, "budget", None)
    size = strategy.block_size
    blocks = [ExampleBlock(order[a:a + size], [gold_all[i] for i in order[a:a + size]], labels)
              for a in range(0, len(order), size)]
    user = Readout(tuple(tuple(verbalisers[lab]) for lab in labels))
    spec = parse_prompt(prompt, verbalisers)
    if spec is None and any(d in dimensions for d in ("format", "demos")):
        log("task search: the prompt's parts (instruction, demonstrations, fields, answer cue) were not "
            "recognised; format and demonstrations are not searched")
    original = _variant(vs, prompt, spec, user, "original", ())
    stages: list[StageLog] = []
    first_ids = list(blocks[0].ids)
    vs.prior_ids = first_ids  # the marginal prior: the first block's texts, which every variant is scored on
    racing_stages = [d for d in ("labels", "format", "demos", "wording") if d in dimensions]
    per_stage = None if budget is None else max(len(first_ids) * 2, (budget - len(order)) // max(1, len(racing_stages)))

    # 1. readout: every (label words, calibration) judged on the original's scores
    readouts = [(user, 0.0)]
    incumbent = original
    if "calibration" in dimensions or "labels" in dimensions:
        before = vs.scorings
        options = _label_options(vs, original, verbalisers, order, settings.fixed_labels,
                                 any_words=settings.any_words) \
            if "labels" in dimensions else [[tuple(verbalisers[lab])] for lab in labels]
        modes = CALIBRATIONS if "calibration" in dimensions else ("raw",)
        vs.columns = list(dict.fromkeys(w for opts in options for ws in opts for w in ws))
        gold = [gold_all[i] for i in order]
        judged = judge_readouts(lambda r: accuracy(vs.logp(original, order, r), gold), options, modes)
        readouts = judged
        # the words a readout reads out are the words the prompt shows: with demonstrations (or label
        # words written in a prompt whose parts are not known) only readouts of the shown words apply to
        # the original; other words come as relabelled prompts (the labels race below)
        shown = _shown_words(prompt, spec, verbalisers)
        fits = [(r, a) for r, a in judged if _shows(r, shown)]
        best, best_acc = fits[0] if fits else (user, next(a for r, a in judged if r == user))
        vs.columns = []  # later variants are scored with their own readout's words only (shorter rows)
        if spec is not None and not spec.demos:  # demonstrations added later show the words read out
            spec = spec.with_(words=tuple(ws[0] for ws in best.words))
        incumbent = _variant(vs, prompt, spec, best, "readout", _readout_changes(user, best, labels))
        if best.words != user.words:  # the best readout of the user's own words: what readability costs
            mine = next(r for r, _ in judged if r.words == user.words)
            _variant(vs, prompt, parse_prompt(prompt, verbalisers), mine, "readout", _readout_changes(user, mine, labels))
        stages.append(StageLog("calibration/labels", len(judged), incumbent.key, vs.scorings - before, best_acc,
                               len(order)))
        log(f"task search: best readout {best.describe(labels)}: selection accuracy {100 * best_acc:.1f} "
            f"(original {100 * next(a for r, a in judged if r == user):.1f}, {len(judged)} readouts"
            + ("" if judged[0][0] == best else f"; the best, {judged[0][0].describe(labels)} "
               f"({100 * judged[0][1]:.1f}), is raced with the demonstrations relabelled") + ")")

    kept = Counter(protected_texts(prompt, keep, keep_regex))

    def race_stage(name: str, candidates: list[Variant]) -> Variant:
        nonlocal incumbent, finalists, finalists_gold
        # each slot once, in order; every --keep span still there (demonstrations may repeat one)
        ok = [c for c in candidates if slots_of(c.prompt) == slots_of(prompt) and
              not kept - Counter(protected_texts(c.prompt, keep, keep_regex))]
        for c in candidates:
            if c not in ok and c is not incumbent:
                vs.variants.pop(c.key, None)
        if len(ok) < len(candidates):
            log(f"task search: {name}: {plural(len(candidates) - len(ok), 'candidate')} dropped (a slot or a "
                "--keep span changed)")
        candidates = [incumbent] + [c for c in ok if c.prompt != incumbent.prompt]
        candidates = list({(c.prompt, c.readout): c for c in reversed(candidates)}.values())[::-1]
        if len(candidates) < 2:
            return incumbent
        before = vs.scorings
        staged = replace(strategy, budget=per_stage) if isinstance(strategy, Race) else strategy
        result = staged.run(vs, [c.key for c in candidates], blocks, seed=seed, keep=k, desc=f"task {name}",
                            nouns=("prompt", "example"))
        finalists, finalists_gold = result.survivors, result.gold
        best = vs.variants[result.survivors[0].template]
        from promptmine.scoring import p_at_1

        stages.append(StageLog(name, len(candidates), best.key, vs.scorings - before,
                               p_at_1(result.survivors[0].ranks), result.facts))
        log(f"task search: {name}: {plural(len(candidates), 'candidate')}, winner {best.key} "
            f"({100 * p_at_1(result.survivors[0].ranks):.1f} on {result.facts} examples)"
            + ("" if best is incumbent else ": " + "; ".join(best.changes[len(incumbent.changes):])))
        incumbent = best
        return best

    finalists, finalists_gold = [], []
    # 2. label words shown in the demonstrations
    if "labels" in dimensions and spec is not None and spec.demos:
        relabelled, tried = [], {incumbent.spec.words}
        for r, _ in readouts:  # the best readout of each of the 3 best other word sets
            words = tuple(ws[0] for ws in r.words)
            if words not in tried and len(relabelled) < 3:
                tried.add(words)
                s = incumbent.spec.with_(words=words)
                relabelled.append(_variant(vs, render(s), s, r, "labels", _readout_changes(user, r, labels) +
                                           (f"demonstrations relabelled {', '.join(words)}",)))
        race_stage("labels", relabelled)
    # 3. format
    if "format" in dimensions and incumbent.spec is not None:
        race_stage("format", [_variant(vs, render(s), s, incumbent.readout, "format", incumbent.changes + (what,))
                              for s, what in format_variants(incumbent.spec, rng, settings.formats)])
    # 4. demonstrations
    if "demos" in dimensions and incumbent.spec is not None and pool:
        race_stage("demos", [_variant(vs, render(s), s, incumbent.readout, "demos", incumbent.changes + (what,))
                             for s, what in demo_variants(incumbent.spec, pool, rng, max_demos=settings.max_demos)])
    # 5. the instruction's wording
    if "wording" in dimensions and routes:
        race_stage("wording", wording_variants(vs, incumbent, verbalisers, routes, settings, cache=cache))
    if not finalists:  # no race ran: the finalists are the incumbent (and the original) on every example
        from promptmine.scoring import Scored, ranks

        gold = [gold_all[i] for i in order]
        finalists = [Scored(v.key, vs.logp(v, order), ranks(vs.logp(v, order), gold))
                     for v in {v.key: v for v in (incumbent, original)}.values()]
        finalists_gold = gold
    gold_first = [gold_all[i] for i in first_ids]
    first_block = {key: accuracy(vs.logp(v, first_ids), gold_first) for key, v in vs.variants.items()
                   if vs.has(v, first_ids)}
    kept_words = best_with_words(vs, user, blocks, gold_all)
    return SearchResult(original, incumbent, finalists, finalists_gold, vs.variants, stages, first_block, readouts,
                        *(kept_words or (None, 0.0, 0)))


def best_with_words(vs: VariantScorer, readout: Readout, blocks, gold_all) -> tuple[Variant, float, int] | None:
    """The variant tried that reads out `readout`'s words (any calibration) and that the search judged
    on the most selection examples, the most accurate of those: (variant, selection accuracy, examples).
    Only scores already in memory are read."""
    best = None
    for v in vs.variants.values():
        if v.readout.words != readout.words:
            continue
        ids: list[int] = []
        for b in blocks:
            more = list(b.ids)
            if not _in_memory(vs, v, ids + more):
                break
            ids += more
        if not ids:
            continue
        acc = accuracy(vs.logp(v, ids), [gold_all[i] for i in ids])
        if best is None or (len(ids), acc) > (best[2], best[1]):
            best = (v, acc, len(ids))
    return best


def _in_memory(vs: VariantScorer, v: Variant, ids: Sequence[int]) -> bool:
    """Whether every word of the variant's readout is in memory for these examples (and for its prior)."""
    template, fill = vs._forms.get(v.prompt, (None, None))
    if template is None or (v.readout.calibration != "raw" and (v.prompt, v.readout) not in vs._priors):
        return False
    cols = v.readout.columns
    return all(all(c in vs._memo.get((template, fill(dict(vs.examples[i].fields))), {}) for c in cols) for i in ids)


def _shown_words(prompt: str, spec: PromptSpec | None, verbalisers: Mapping[str, Sequence[str]]):
    """Per label, the word the prompt shows for it (its demonstrations'), or None where the readout may
    take any word: a prompt without demonstrations. A prompt whose parts are not known shows the user's
    words when any of them is written in it outside its slots."""
    import re

    labels = list(verbalisers)
    if spec is not None:
        return spec.words if spec.demos else (None,) * len(labels)
    text = re.sub(r"\{[A-Za-z_]\w*\}", " ", prompt)
    written = any(re.search(r"(?<!\w)" + re.escape(w) + r"(?!\w)", text) for ws in verbalisers.values() for w in ws)
    return tuple(verbalisers[lab][0] for lab in labels) if written else (None,) * len(labels)


def _shows(readout: Readout, shown: Sequence[str | None]) -> bool:
    return all(w is None or ws[0] == w for ws, w in zip(readout.words, shown))


def protected_texts(prompt: str, keep: Sequence[str], keep_regex: Sequence[str]) -> list[str]:
    """The `--keep`/`--keep-regex` spans of a prompt in order: every variant must show the original's."""
    from promptmine.paraphrasing.spans import find_spans

    if not keep and not keep_regex:
        return []
    return [sp.text for sp in find_spans(prompt, keep=keep, keep_regex=keep_regex, cues=False) if sp.kind == "keep"]


def judge_readouts(value, options: Sequence[Sequence[tuple[str, ...]]], modes: Sequence[str]) -> list[tuple[Readout, float]]:
    """Every readout a coordinate search visits, best first: per calibration mode, starting from each
    label's first option (the user's words), each label in turn takes its best option with the others
    fixed, twice over; `value(readout)` is its selection accuracy. All of every product when it is small.
    Ties keep the earlier readout (the user's words, then raw): a change must earn its place."""
    seen: dict[Readout, float] = {}

    def judge(words, mode) -> float:
        r = Readout(tuple(words), mode)
        if r not in seen:
            seen[r] = value(r)
        return seen[r]

    small = 1
    for o in options:
        small *= len(o)
    for mode in modes:
        if small <= 64:
            for words in itertools.product(*options):
                judge(words, mode)
            continue
        words = [o[0] for o in options]
        judge(words, mode)
        for _ in range(2):
            for i, opts in enumerate(options):
                words[i] = max(opts, key=lambda w: (judge(words[:i] + [w] + words[i + 1:], mode), -opts.index(w)))
    return sorted(seen.items(), key=lambda ra: -ra[1])


def _variant(vs: VariantScorer, prompt: str, spec, readout: Readout, stage: str, changes: tuple[str, ...]) -> Variant:
    for v in vs.variants.values():
        if v.prompt == prompt and v.readout == readout:
            return v
    vs.made += 1
    return vs.variants[vs.add(Variant(f"v{vs.made - 1}", prompt, spec, readout, stage, changes))]


def _readout_changes(user: Readout, best: Readout, labels: Sequence[str]) -> tuple[str, ...]:
    out = []
    if best.calibration != user.calibration:
        out.append(f"calibration {best.calibration}")
    changed = [f"{lab}: {' | '.join(a)} -> {' | '.join(b)}" for lab, a, b in zip(labels, user.words, best.words) if a != b]
    if changed:
        out.append("label words " + ", ".join(changed))
    return tuple(out)


def _label_options(vs: VariantScorer, original: Variant, verbalisers: Mapping[str, Sequence[str]],
                   order: Sequence[int], fixed: Sequence[str], per_label: int = 3, *,
                   any_words: bool = False) -> list[list[tuple[str, ...]]]:
    """Per label, the word sets to try: the user's words first, their casing forms, and (with a causal
    scorer) the words the model prefers for that label's examples, the `per_label` best of those a
    reader can trust (`promptmine.tasks.words.readable`) unless `any_words`. A fixed label keeps its words."""
    labels = list(verbalisers)
    options = [[tuple(verbalisers[lab])] for lab in labels]
    user_words = {w.lower() for ws in verbalisers.values() for w in ws}
    for i, lab in enumerate(labels):
        if lab in fixed:
            continue
        for w in verbalisers[lab]:
            options[i] += [(f,) for f in word_forms(w) if f != w]
    proposer = getattr(getattr(vs.scorer, "scorer", None), "next_words", None)
    if proposer is not None:
        template, fill = scoring_form(original.prompt)
        ids = list(order)[:min(len(order), 128)]
        gold = label_index([vs.examples[i] for i in ids], labels)
        vocab, m = proposer(template, [fill(dict(vs.examples[i].fields)) for i in ids])
        proposed = propose_words(m, vocab, gold, len(labels), per_label=per_label if any_words else 5 * per_label,
                                 exclude=user_words)
        if not any_words:
            from promptmine.tasks.words import readable

            proposed, dropped = readable(proposed, verbalisers)
            proposed = [ws[:per_label] for ws in proposed]
            if dropped:
                log("task search: label words left out (--any-label-words allows them): " +
                    "; ".join(f"{lab}: {w} ({why})" for lab, w, why in dropped[:12]) +
                    (f"; {len(dropped) - 12} more" if len(dropped) > 12 else ""))
        for i, lab in enumerate(labels):
            if lab not in fixed:
                options[i] += [(w,) for w in proposed[i]]
        log("task search: label words the model prefers: " +
            "; ".join(f"{lab}: {', '.join(ws) or '-'}" for lab, ws in zip(labels, proposed)))
    return [list(dict.fromkeys(o)) for o in options]


def wording_variants(vs: VariantScorer, incumbent: Variant, verbalisers, routes, settings: TaskSettings, *,
                     cache="default") -> list[Variant]:
    """The incumbent's instruction back-translated through each route into `settings.permutations`
    variants (its protected spans kept: the label words in any casing, the words read out,
    `settings.keep` and `keep_regex`); a prompt without recognised parts is back-translated whole, as
    before. A variant that drops or changes a label word the instruction names (its answer choices,
    `yes, no or maybe`) is left out, like a changed label."""
    from promptmine.paraphrasing import paraphrase_text

    words = list(dict.fromkeys(f for ws in (*verbalisers.values(), *incumbent.readout.words) for w in ws
                               for f in word_forms(w)))
    spec = incumbent.spec
    text = spec.instruction if spec is not None else incumbent.prompt
    if not text.strip():
        return []
    out = []
    for translator, pivots in routes:
        try:
            records = paraphrase_text(text, translator, list(pivots), permutations=settings.permutations,
                                      labels=words, keep=settings.keep, keep_regex=settings.keep_regex, cache=cache)
        except PromptmineError as e:
            log(f"task search: wording through {translator.name} skipped: {e}")
            continue
        for r in records[1:]:
            if answer_words(r["template"], words) != answer_words(text, words):
                log(f"task search: a wording variant changed the answer choices, left out: {r['template']!r}")
                continue
            s = spec.with_(instruction=r["template"]) if spec is not None else None
            out.append(_variant(vs, render(s) if s is not None else r["template"], s, incumbent.readout, "wording",
                                incumbent.changes + (f"instruction back-translated ({translator.name} {r['pivot']})",)))
    return out


def answer_words(text: str, words: Sequence[str]) -> list[str]:
    """The label words (any of `words`, compared in lower case) a text names, in order: what a wording
    variant of an instruction must keep (`Answer yes, no or maybe.`)."""
    import re

    if not words:
        return []
    alt = "|".join(re.escape(w) for w in sorted({w.lower() for w in words}, key=len, reverse=True))
    return [m.group().lower() for m in re.finditer(r"(?<!\w)(?:" + alt + r")(?!\w)", text, flags=re.IGNORECASE)]


@dataclass
class Plan:
    """What a search will cost before any model work: scorings per stage and a time estimate."""

    rows: list[tuple[str, int, int]] = field(default_factory=list)  # (stage, candidates, scorings at most)
    tokens_per_scoring: float = 0.0

    @property
    def scorings(self) -> int:
        return sum(r[2] for r in self.rows)

    @property
    def seconds(self) -> float:
        return self.scorings * self.tokens_per_scoring / TOKENS_PER_SECOND

    def describe(self) -> str:
        from promptmine.report import text_table

        rows = [[name, cands, f"{n:,}"] for name, cands, n in self.rows]
        rows.append(["total", "", f"{self.scorings:,}"])
        return (text_table(["stage", "candidates", "scorings (at most)"], rows) +
                f"\nabout {self.tokens_per_scoring:.0f} tokens a scoring; estimate {_duration(self.seconds)} "
                f"at {TOKENS_PER_SECOND:,} tokens/s (SmolLM2-135M on 2 CPU cores; the cache makes re-runs cheaper)")


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def plan(prompt: str, examples: Sequence[Example], n_sel: int, n_held: int, pool_size: int, settings: TaskSettings, *,
         strategy: Strategy, routes: int, demos_in_prompt: bool = False) -> Plan:
    """The planned scorings of a search with `settings` and `strategy` (with its budget) through
    `routes` routes (an upper bound: racing stops most candidates early)."""
    dimensions, k = settings.dimensions, settings.k
    budget, block = getattr(strategy, "budget", None), strategy.block_size
    p = Plan()
    racing = [d for d in ("labels", "format", "demos", "wording") if d in dimensions]
    per_stage = None if budget is None else max(2 * block, (budget - n_sel) // max(1, len(racing)))
    if "calibration" in dimensions or "labels" in dimensions:
        p.rows.append(("calibration/labels", 1, n_sel + 3 + min(128, n_sel) * ("labels" in dimensions)))

    def race_cost(c: int) -> int:
        full = c * n_sel
        halving = c * block + sum(max(k, c >> r) * block * (1 << (r - 1)) for r in range(1, 12)
                                  if block * (1 << r) <= n_sel)
        # the first round always runs whole; the budget caps the rest
        return min(full, halving if per_stage is None else max(c * block, min(halving, per_stage)))

    counts = {"labels": 3 if demos_in_prompt else 0, "format": settings.formats,
              "demos": (settings.max_demos * 3 + (3 if demos_in_prompt else 0)) if pool_size else 0,
              "wording": settings.permutations * routes}
    for d in racing:
        if counts[d]:
            p.rows.append((d, counts[d] + 1, race_cost(counts[d] + 1)))
    p.rows.append(("held-out rows", 2 + k, (2 + k) * n_held))
    chars = sum(len(" ".join(dict(e.fields).values())) for e in examples[:200]) / max(1, min(200, len(examples)))
    p.tokens_per_scoring = chars / 4 + 8
    return p
