"""Tasks with labelled examples: which phrasing of a classification prompt makes the model answer best.

A task is a JSONL file of `{"text", "label"}`, a label set with verbalisers (label -> the word or
words the model should produce, e.g. positive -> Positive) and a prompt with a `{text}` slot (or
`[X]`, with `[Y]` where the answer goes). The prompt becomes a template (`{text}` -> `[X]`, the answer
` [Y]` after the final cue), so every scorer ranks the verbalisers exactly as it ranks a relation's
objects: the causal scorer runs the prompt once per example and batches the verbalisers on its KV
cache, and scores are cached on disk. A label with several words scores as their log-sum-exp.

Variants (back-translations with protected spans, promptmine.paraphrasing.paraphrase_text) are scored
on a selection split; the best one (top1), the K best averaged (rank) and learnt weights (optimized)
are chosen there with promptmine.selection and reported on the held-out split with accuracy and
macro-F1, as for relations.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from promptmine.core.errors import InputError, PromptmineError
from promptmine.core.progress import log, progress
from promptmine.core.records import X, Y
from promptmine.scoring import Scored, combine, p_at_1, ranks
from promptmine.stats import paired_bootstrap  # noqa: F401 (re-exported: promptmine.task.paired_bootstrap)

SLOT = "{text}"


@dataclass(frozen=True)
class Example:
    text: str
    label: str


@dataclass
class TaskData:
    """Examples with gold label indices into `labels`; `words[i]` are label i's verbalisers."""

    texts: list[str]
    gold: list[int]
    labels: list[str]
    words: list[list[str]]

    @property
    def n(self) -> int:
        return len(self.texts)

    def subset(self, idx: Sequence[int]) -> TaskData:
        return TaskData([self.texts[i] for i in idx], [self.gold[i] for i in idx], self.labels, self.words)


def read_task(path: str | Path) -> list[Example]:
    """Examples from a JSONL file with `text` and `label` (strings); errors name file:line."""
    from promptmine.core.io import iter_jsonl

    if not Path(path).is_file():
        raise InputError("no such file", path)
    out = []
    for lineno, obj in iter_jsonl(path):
        if not isinstance(obj, dict):
            raise InputError("expected a JSON object with `text` and `label`", path, lineno)
        text, label = obj.get("text"), obj.get("label")
        if not isinstance(text, str) or not text.strip():
            raise InputError("missing or empty `text`", path, lineno)
        if not isinstance(label, (str, int, bool)) or str(label).strip() == "":
            raise InputError("missing or empty `label`", path, lineno)
        out.append(Example(text, str(label)))
    if not out:
        raise InputError("no examples", path)
    return out


def parse_verbalisers(spec: str | Mapping[str, str | Sequence[str]] | None,
                      labels: Sequence[str]) -> dict[str, list[str]]:
    """label -> words. `spec` is a mapping, or text `positive=Positive,negative=Negative|Bad`
    (`|` separates a label's words); None capitalises each label (`positive` -> `Positive`)."""
    if spec is None:
        return {lab: [lab[:1].upper() + lab[1:]] for lab in labels}
    if isinstance(spec, str):
        pairs = {}
        for item in spec.split(","):
            lab, sep, words = item.partition("=")
            if not sep or not lab.strip() or not words.strip():
                raise PromptmineError(f"verbalisers: expected LABEL=WORD[|WORD...], got {item!r}")
            pairs[lab.strip()] = [w.strip() for w in words.split("|") if w.strip()]
        spec = pairs
    out = {str(k): ([v] if isinstance(v, str) else list(v)) for k, v in spec.items()}
    missing = [lab for lab in labels if lab not in out]
    if missing:
        raise PromptmineError(f"no verbaliser for label(s) {', '.join(missing)}")
    return out


def task_data(examples: Sequence[Example], verbalisers: Mapping[str, Sequence[str]]) -> TaskData:
    labels = list(verbalisers)
    index = {lab: i for i, lab in enumerate(labels)}
    unknown = sorted({e.label for e in examples if e.label not in index})
    if unknown:
        raise PromptmineError(f"examples have labels without a verbaliser: {', '.join(unknown)}")
    return TaskData([e.text for e in examples], [index[e.label] for e in examples], labels,
                    [list(verbalisers[lab]) for lab in labels])


def prompt_template(prompt: str) -> str:
    """The scoring template of a prompt: `{text}` -> `[X]`; without `[Y]`, the answer goes after the
    final cue (` [Y]` at the end). Needs exactly one text slot and at most one `[Y]`."""
    n_slot, n_x = prompt.count(SLOT), prompt.count(X)
    if n_slot + n_x != 1:
        raise PromptmineError(f"a task prompt needs exactly one {SLOT} (or {X}); found {n_slot} {SLOT} and {n_x} {X}")
    t = prompt.replace(SLOT, X)
    if t.count(Y) > 1:
        raise PromptmineError(f"a task prompt has at most one {Y} (the answer); found {t.count(Y)}")
    if Y not in t:
        t = t.rstrip() + " " + Y
    if t.index(Y) < t.index(X):
        raise PromptmineError(f"the answer {Y} must come after the text slot")
    return t


def verbaliser_scores(word_matrix, words: Sequence[Sequence[str]], columns: Sequence[str]):
    """[examples, labels]: log-sum-exp over each label's words of the [examples, words] scores."""
    import numpy as np

    from promptmine.scoring import FLOOR

    m = np.maximum(np.asarray(word_matrix, dtype=np.float64), FLOOR)
    col = {w: j for j, w in enumerate(columns)}
    out = []
    for ws in words:
        block = m[:, [col[w] for w in ws]]
        top = block.max(axis=1, keepdims=True)
        out.append((top + np.log(np.exp(block - top).sum(axis=1, keepdims=True)))[:, 0])
    return np.stack(out, axis=1)


def score_prompt(scorer, prompt: str, data: TaskData) -> Scored:
    """The prompt's [examples, labels] scores (Scored.template is the prompt itself)."""
    template = prompt_template(prompt)
    columns = list(dict.fromkeys(w for ws in data.words for w in ws))
    raw = scorer.score(template, data.texts, columns)
    m = verbaliser_scores(raw, data.words, columns)
    return Scored(prompt, m, ranks(m, data.gold) if data.n else [])


def macro_f1(pred: Sequence[int], gold: Sequence[int], n_labels: int) -> float:
    """Unweighted mean over labels of F1 (a label never predicted nor gold counts 0)."""
    f1s = []
    for c in range(n_labels):
        tp = sum(p == c and g == c for p, g in zip(pred, gold))
        fp = sum(p == c and g != c for p, g in zip(pred, gold))
        fn = sum(p != c and g == c for p, g in zip(pred, gold))
        f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(f1s) / n_labels if n_labels else 0.0


@dataclass
class Metrics:
    accuracy: float
    macro_f1: float
    n: int
    correct: list[bool] = field(default_factory=list, repr=False)  # per example, for paired tests


def metrics(matrix, data: TaskData) -> Metrics:
    """Accuracy (ties count against the gold label, as P@1) and macro-F1 of the argmax labels."""
    import numpy as np

    m = np.asarray(matrix, dtype=np.float64)
    if not data.n:
        return Metrics(0.0, 0.0, 0)
    r = ranks(m, data.gold)
    pred = m.argmax(axis=1).tolist()
    return Metrics(p_at_1(r), macro_f1(pred, data.gold, len(data.labels)), data.n, [x == 1 for x in r])


def split_indices(n: int, held_out: int, seed: int = 0) -> tuple[list[int], list[int]]:
    """(selection, held-out) example indices: a fixed shuffle with `seed`, the last `held_out` held out."""
    if not 0 < held_out < n:
        raise PromptmineError(f"held-out size must be between 1 and {n - 1}, got {held_out}")
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return sorted(order[:n - held_out]), sorted(order[n - held_out:])


# -- selection over variants ----------------------------------------------------------------------

@dataclass
class TaskResult:
    """What run_task measured: per-variant metrics on both splits, the choices, the held-out rows."""

    variants: list[str]  # the original first
    selection_metrics: list[Metrics]
    heldout_metrics: dict[str, Metrics]  # row name -> metrics on the held-out split
    chosen: str  # the top1 variant
    rank: list[tuple[str, float]]  # (variant, weight)
    optimized: list[tuple[str, float]]
    intervals: dict[str, tuple[float, float, float]]  # row -> (delta vs original, low, high)
    n_selection: int
    n_heldout: int
    report: Path | None = None


def select_variants(scorer, variants: Sequence[str], data: TaskData, *, held_out: int, seed: int = 0,
                    k: int = 3, train: Mapping | None = None) -> TaskResult:
    """Score every variant on the selection split, choose top1/rank/optimized there, report all on
    the held-out split (only the variants the rows need are scored there)."""
    from promptmine.selection import select_optimized, select_rank, select_top1

    variants = list(dict.fromkeys(variants))
    sel_idx, test_idx = split_indices(data.n, held_out, seed)
    sel, test = data.subset(sel_idx), data.subset(test_idx)
    scored = [score_prompt(scorer, v, sel) for v in progress(variants, desc="score variants", unit="prompt")]
    top1 = select_top1(scored, None, "")
    rank = select_rank(scored, None, "", k)
    opt = select_optimized(scored, sel.gold, None, "", **dict(train or {}))
    rows = {"original": [(variants[0], 1.0)], "selected (top1)": [(top1.templates[0].template, 1.0)],
            f"rank ensemble (top {len(rank.templates)})": [(w.template, w.weight) for w in rank.templates],
            "optimized ensemble": [(w.template, w.weight) for w in opt.templates]}
    test_scores: dict[str, Scored] = {}
    held: dict[str, Metrics] = {}
    for name, members in rows.items():
        for v, _ in members:
            if v not in test_scores:
                test_scores[v] = score_prompt(scorer, v, test)
        m = combine([test_scores[v].matrix for v, _ in members], [w for _, w in members])
        held[name] = metrics(m, test)
    base = held["original"].correct
    intervals = {name: paired_bootstrap(base, mt.correct, seed=seed) for name, mt in held.items() if name != "original"}
    return TaskResult(variants, [metrics(s.matrix, sel) for s in scored], held, top1.templates[0].template,
                      rows[f"rank ensemble (top {len(rank.templates)})"], rows["optimized ensemble"], intervals,
                      sel.n, test.n)


def write_task_report(out_dir: str | Path, result: TaskResult, *, title: str = "Task prompt selection",
                      notes: Sequence[str] = ()) -> Path:
    """report.md (held-out table, per-variant selection accuracy, chosen prompts), accuracy.png (chart),
    variants.jsonl (each variant's selection-split metrics) and heldout.json (the held-out rows)."""
    from promptmine.core.io import atomic_write
    from promptmine.report import bar_chart, markdown_table

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = list(result.heldout_metrics)
    bar_chart(out / "accuracy.png", names, [result.heldout_metrics[n].accuracy for n in names],
              [result.heldout_metrics[n].macro_f1 for n in names], title=f"{title}: held-out split",
              series=("accuracy", "macro-F1"))
    rows = []
    for n in names:
        mt = result.heldout_metrics[n]
        d = result.intervals.get(n)
        rows.append([n, f"{100 * mt.accuracy:.1f}", f"{100 * mt.macro_f1:.1f}",
                     "-" if d is None else f"{100 * d[0]:+.1f} [{100 * d[1]:+.1f}, {100 * d[2]:+.1f}]"])
    var_rows = [[i, f"{100 * m.accuracy:.1f}", f"{100 * m.macro_f1:.1f}", _oneline(v)]
                for i, (v, m) in enumerate(zip(result.variants, result.selection_metrics))]
    lines = [f"# {title}", ""] + [p for note in notes for p in (note, "")] + [
        f"## Held-out split ({result.n_heldout} examples)", "",
        markdown_table(["prompt", "accuracy", "macro-F1", "vs original (95% paired bootstrap)"], rows), "",
        "![held-out accuracy](accuracy.png)", "",
        f"## Variants on the selection split ({result.n_selection} examples; 0 is the original)", "",
        markdown_table(["#", "accuracy", "macro-F1", "prompt"], var_rows), "",
        "## Chosen prompt (top1)", "", "```", result.chosen, "```", "",
        "## Ensembles", "", "rank: " + ", ".join(f"#{result.variants.index(v)} ({w:.2f})" for v, w in result.rank),
        "", "optimized: " + ", ".join(f"#{result.variants.index(v)} ({w:.2f})" for v, w in result.optimized), ""]
    with atomic_write(out / "report.md") as f:
        f.write("\n".join(lines))
    # the same numbers for programs: every variant with its selection-split metrics, then the rows
    with atomic_write(out / "variants.jsonl") as f:
        for i, (v, m) in enumerate(zip(result.variants, result.selection_metrics)):
            f.write(json.dumps({"variant": i, "prompt": v, "accuracy": m.accuracy, "macro_f1": m.macro_f1,
                                "n": m.n, "chosen": v == result.chosen}) + "\n")
    with atomic_write(out / "heldout.json") as f:
        json.dump({"n_selection": result.n_selection, "n_heldout": result.n_heldout, "chosen": result.chosen,
                   "rank": result.rank, "optimized": result.optimized,
                   "rows": {n: {"accuracy": m.accuracy, "macro_f1": m.macro_f1,
                                "vs_original": result.intervals.get(n)} for n, m in result.heldout_metrics.items()}},
                  f, indent=1)
    return out / "report.md"


def _oneline(text: str, width: int = 120) -> str:
    t = " ⏎ ".join(line for line in text.strip().splitlines() if line.strip())
    return t if len(t) <= width else t[:width - 1] + "…"


def task_routes(routes: Sequence[tuple[object, Sequence[str]]], options: Mapping[str, dict] | None = None) -> list:
    """[(translator, pivots)] for the (backend name or translator object, pivots) routes that work here;
    an unavailable backend or pivot is skipped with a note, as for `promptmine run`."""
    from promptmine.models.translate import TRANSLATORS
    from promptmine.paraphrasing import check_pivots

    usable = []
    for backend, pivots in routes:
        try:
            translator = backend if not isinstance(backend, str) else \
                TRANSLATORS.create(backend, dict((options or {}).get(backend) or {}))
            check_pivots(translator, "en", list(pivots))
        except (PromptmineError, OSError, RuntimeError, ValueError, ImportError) as e:
            log(f"task: {backend} ({','.join(pivots)}) unavailable, skipped: {e}")
            continue
        usable.append((translator, list(pivots)))
    return usable


def held_out_size(held_out: int | float | None, n: int) -> int:
    """Examples held out: a count, a fraction of `n` (0 < f < 1), or None for a third."""
    if held_out is None:
        return max(1, n // 3)
    if isinstance(held_out, float) and 0 < held_out < 1:
        return max(1, round(n * held_out))
    return int(held_out)


def run_task(prompt: str, examples: str | Path | Sequence[Example], scorer, *,
             verbalisers: str | Mapping[str, str | Sequence[str]] | None = None,
             variants: Sequence[str] | None = None, translator=None, pivots: Sequence[str] | None = None,
             routes: Sequence[tuple[object, Sequence[str]]] | None = None, translator_options: Mapping | None = None,
             permutations: int = 20, beams: int = 7, keep: Sequence[str] = (), keep_regex: Sequence[str] = (),
             examples_verbatim: bool = False, held_out: int | float | None = None, seed: int = 0, k: int = 3,
             calibrate: bool = False, out_dir: str | Path | None = None, cache="default",
             scorer_options: dict | None = None) -> TaskResult:
    """From a prompt and labelled examples to the chosen variant, both ensembles and a report.

    `scorer`: a CachedScorer (or anything with its `score`), or a registry name built with
    `scorer_options` (promptmine.scoring.load_scorer); `calibrate` wraps it in
    promptmine.scoring.calibrated. Variants are `variants` if given, else back-translations of the prompt
    with protected spans (the label words are protected too), `permutations` per route: `translator`
    through `pivots`, or every available route of `routes` ([(backend name or translator, pivots)],
    names built with `translator_options[name]`). The original prompt is always variant 0.
    `held_out`: examples reported on, a count or a fraction (default: a third)."""
    from promptmine.paraphrasing import paraphrase_text

    exs = read_task(examples) if isinstance(examples, (str, Path)) else list(examples)
    labels = list(dict.fromkeys(e.label for e in exs))
    verb = parse_verbalisers(verbalisers, labels)
    data = task_data(exs, verb)
    prompt_template(prompt)  # fail early on a prompt without its slot
    if isinstance(scorer, str):
        from promptmine.scoring import load_scorer

        scorer = load_scorer(scorer, scorer_options, cache=cache is not None)
    if variants is None:
        if translator is not None:
            usable = [(translator, list(pivots or getattr(translator, "default_pivots", ())))]
        elif routes is not None:
            usable = task_routes(routes, translator_options)
        else:
            raise PromptmineError("run_task needs `variants`, a `translator` or `routes` to make them")
        words = [w for ws in verb.values() for w in ws]
        variants = []
        for tr, pv in usable:
            records = paraphrase_text(prompt, tr, pv, beams=beams, permutations=permutations,
                                      labels=words, keep=keep, keep_regex=keep_regex,
                                      examples_verbatim=examples_verbatim, cache=cache)
            variants += [r["template"] for r in records]
        if not usable:
            log("task: no paraphrasing route available; scoring the original prompt only")
    variants = [prompt] + [v for v in dict.fromkeys(variants) if v != prompt]
    bad = [v for v in variants if v.count(SLOT) + v.count(X) != 1]
    if bad:
        log(f"task: {len(bad)} variants without exactly one {SLOT} skipped")
        variants = [v for v in variants if v not in bad]
    if calibrate:
        from promptmine.scoring import calibrated

        scorer = calibrated(scorer)
    result = select_variants(scorer, variants, data, held_out=held_out_size(held_out, data.n), seed=seed, k=k)
    if out_dir is not None:
        result.report = write_task_report(out_dir, result, notes=[
            f"{len(variants)} prompts (the original and {len(variants) - 1} variants), scored with "
            f"`{getattr(scorer, 'identity', '?')}`; labels: " +
            ", ".join(f"{lab} -> {' | '.join(ws)}" for lab, ws in verb.items()) + "."])
    return result
