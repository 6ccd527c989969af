"""`promptmine.run` (`promptmine run`): mine -> paraphrase -> select -> evaluate for a relations file, with a report.

Per relation, the pairs are split into a training half (mining, selection, ensemble weights) and a
test half (evaluation), and six ways of prompting are compared as in LPAQA's tables:
Manual (the relation's template), Mined top-1 (best mined template on the training facts),
Paraphrased top-1 (best of the manual template and its back-translations), Mined+Paraphrased top-1
(best of all), the top-K rank ensemble and the optimised ensemble (both over all candidates).
"""

from __future__ import annotations

import glob
import os
import random
import re
import shutil
import tempfile
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from promptmine.core.errors import InputError, PromptmineError
from promptmine.scoring import (
    CachedScorer, RelationFacts, Scored, evaluate_blocks, micro_average, relation_facts, score_templates,
)
from promptmine.core.progress import log, plural, stage
from promptmine.core.records import Candidate, Pair, Score, Selection, WeightedTemplate, template_key
from promptmine.paraphrasing.routes import parse_routes
from promptmine.selection import Race, ensemble, race, race_rank, race_top1

SELECTION_METHODS = ("race", "exhaustive")

ROWS = ("Manual", "Mined top-1", "Paraphrased top-1", "Mined+Paraphrased top-1", "top-K rank ensemble",
        "Optimized ensemble")
from promptmine.corpora import CORPORA_DIR as CORPORA


@dataclass
class Pool:
    """One relation's candidate templates by origin (manual first)."""

    manual: str
    mined: list[str] = field(default_factory=list)
    paraphrased: list[str] = field(default_factory=list)

    def dedupe(self) -> Pool:
        """Each prompt once, where it first appears: manual, then mined, then paraphrased. Only
        spacing runs are merged: `[Y] .` and `[Y].`, `member of the [Y]` and `member of [Y]` are
        different texts to the scorer (they score differently), so both stay candidates."""
        seen = {scored_text(self.manual)}
        mined, para = [], []
        for src, dst in ((self.mined, mined), (self.paraphrased, para)):
            for t in src:
                if scored_text(t) not in seen:
                    seen.add(scored_text(t))
                    dst.append(t)
        return Pool(self.manual, mined, para)

    @property
    def all(self) -> list[str]:
        return [self.manual] + self.mined + self.paraphrased


def scored_text(template: str) -> str:
    """A template as the scorer reads it, up to runs of spaces (what `Pool.dedupe` merges)."""
    return " ".join(template.split())


@dataclass
class Comparison:
    scores: dict[str, list[Score]]  # row -> per-relation test scores
    selections: dict[str, list[Selection]]  # row -> per-relation selections
    races: dict[str, Race] = field(default_factory=dict)  # relation -> how its candidates were raced
    # row -> relation -> why the row's method did not run there (its selection is another row's)
    fallbacks: dict[str, dict[str, str]] = field(default_factory=dict)

    def ran(self, row: str) -> list[bool]:
        """Per relation (in `scores[row]` order): whether the row's own method chose its prompt."""
        fell = self.fallbacks.get(row, {})
        return [s.relation not in fell for s in self.scores[row]]

    def micro(self, row: str) -> tuple[float, float, int]:
        return micro_average(self.scores[row])

    @property
    def cost(self) -> int:
        """(fact, template) pairs scored for selection."""
        return sum(r.cost for r in self.races.values())


def split_pairs(pairs: Sequence[Pair], test_fraction: float, seed: int) -> tuple[list[Pair], list[Pair]]:
    """(train, test) per relation, shuffled by a fixed seed; each relation keeps both halves non-empty
    when it has at least two pairs."""
    by_rel: dict[str | None, list[Pair]] = {}
    for p in pairs:
        by_rel.setdefault(p.relation, []).append(p)
    train, test = [], []
    for rel in sorted(by_rel, key=str):
        ps = list(by_rel[rel])
        random.Random(f"{seed}:{rel}").shuffle(ps)
        n_test = min(len(ps) - 1, max(1, round(len(ps) * test_fraction))) if len(ps) > 1 else 0
        test += ps[:n_test]
        train += ps[n_test:]
    return train, test


def split(pairs, *, test_fraction: float = 0.5, seed: int = 0, train_out: str | Path | None = None,
          test_out: str | Path | None = None, strict: bool = False) -> tuple[list[Pair], list[Pair]]:
    """(train, test) facts, split per relation as `run` splits them (`split_pairs`), so one can
    `select` on the first and `evaluate` on the second. `pairs`: a pairs file or a list of Pairs
    (`strict`: a malformed line is an error, not skipped). With `train_out`/`test_out`, each set is
    written as JSONL of `subject`, `object`, `relation`."""
    from promptmine.core.io import read_pairs, write_jsonl
    from promptmine.core.progress import plural, warn

    if not 0 < test_fraction < 1:
        raise PromptmineError(f"test_fraction must be between 0 and 1, got {test_fraction:g}")
    path = pairs if isinstance(pairs, (str, Path)) else None
    pairs = read_pairs(path, strict=strict) if path is not None else list(pairs)
    if not pairs:
        raise InputError("no pairs", path)
    train, test = split_pairs(pairs, test_fraction, seed)
    alone = sorted({str(p.relation) for p in train} - {str(p.relation) for p in test})
    if alone:
        warn(f"split: {', '.join(alone)} {'has' if len(alone) == 1 else 'have'} one pair only, kept for training")
    for out, part, what in ((train_out, train, "training"), (test_out, test, "test")):
        if out is not None:
            write_jsonl(out, [p.model_dump(exclude_none=True) for p in part])
            log(f"split: {plural(len(part), what + ' pair')} to {out}")
    log(f"split: {plural(len({p.relation for p in pairs}), 'relation')}, seed {seed}, "
        f"test fraction {test_fraction:g}")
    return train, test


def compare(scorer, pools: dict[str, Pool], train: dict[str, RelationFacts | list[RelationFacts]],
            test: dict[str, RelationFacts | list[RelationFacts]], *, k: int = 3, seed: int = 0, method: str = "race",
            budget: int | None = None, block_size: int = 32, metric: str = "rr", z: float = 1.645,
            max_templates: int = 6, on_stage=None) -> Comparison:
    """Select on `train`, evaluate on `test`, for every row of ROWS and every relation in `pools`.

    method="race": the candidates race over blocks of training facts (promptmine.selection.race;
    `budget` in (fact, template) pairs per relation), with the mined ones and the manual +
    paraphrased ones as groups that each keep a winner, and the `k` best kept for the ensembles;
    method="exhaustive": every candidate on every training fact. The top-1 rows are the best
    survivors of their pool; the rank ensemble the `k` best; the optimised ensemble learns weights
    over the best `max_templates` survivors on a held-out split, or falls back to the rank ensemble
    (its Selection says so in `note`). Each Selection's `facts` is how many training facts its
    templates were scored on. `train` and `test` values may be one RelationFacts or a list of
    blocks, each with its own candidate set (a relation's test blocks merge into one Score). All
    relations are selected before any is evaluated; `on_stage(name)`, when given, is called as each
    phase ("select", "evaluate") starts."""
    if method not in SELECTION_METHODS:
        raise PromptmineError(f"unknown selection method {method!r}; choose from {', '.join(SELECTION_METHODS)}")
    scores: dict[str, list[Score]] = {r: [] for r in ROWS}
    sels: dict[str, list[Selection]] = {r: [] for r in ROWS}
    races: dict[str, Race] = {}
    chosen_by_rel: dict[str, dict[str, Selection]] = {}
    fallbacks: dict[str, dict[str, str]] = {}
    if on_stage:
        on_stage("select")
    for rel, pool in pools.items():
        pool = pool.dedupe()
        tr = train[rel]
        n_train, n_test = (sum(b.n for b in as_blocks(x)) for x in (tr, test[rel]))
        if n_train == 0 or n_test == 0:
            log(f"{rel}: skipped (train {n_train}, test {plural(n_test, 'fact')})")
            continue
        groups = [pool.mined, [pool.manual] + pool.paraphrased]
        if method == "exhaustive":
            result = race(scorer, pool.all, tr, seed=seed, block_size=block_size, eliminate=False, desc=f"select {rel}")
        else:
            result = race(scorer, pool.all, tr, budget=budget, seed=seed, block_size=block_size, metric=metric,
                          z=z, keep=max(k, 2), groups=groups, desc=f"select {rel}")
        races[rel] = result
        manual = Selection(relation=rel, method="manual", model=scorer.identity,
                           templates=[WeightedTemplate(template=pool.manual)], facts=result.seen[pool.manual])

        def pick(templates: list[str]) -> Selection:
            return race_top1(result, templates, rel, scorer.identity) or manual

        chosen = {
            "Manual": manual,
            # no mined template for this relation: the row falls back to the manual prompt
            "Mined top-1": pick(pool.mined) if pool.mined else manual,
            "Paraphrased top-1": pick([pool.manual] + pool.paraphrased),
            "Mined+Paraphrased top-1": pick(pool.all),
            "top-K rank ensemble": race_rank(result, rel, scorer.identity, k),
            "Optimized ensemble": ensemble(result.survivors, result.gold, rel, scorer.identity, k=k, seed=seed,
                                           max_templates=max_templates),
        }
        chosen_by_rel[rel] = chosen
        if not pool.mined:
            fallbacks.setdefault("Mined top-1", {})[rel] = "no mined template: the manual prompt"
        if not pool.paraphrased:
            fallbacks.setdefault("Paraphrased top-1", {})[rel] = "no paraphrase: the manual prompt"
        if not pool.mined and not pool.paraphrased:
            fallbacks.setdefault("Mined+Paraphrased top-1", {})[rel] = "no candidate: the manual prompt"
        if chosen["Optimized ensemble"].method != "optimized":
            fallbacks.setdefault("Optimized ensemble", {})[rel] = chosen["Optimized ensemble"].note or "not optimised"
    if on_stage:
        on_stage("evaluate")
    # every selected template on every test block of every relation, in one call: the scorer packs
    # them into shared forward passes; the rows below then read these scores
    scored_by_rel = {rel: [{} for _ in as_blocks(test[rel])] for rel in chosen_by_rel}
    jobs = [(rel, i, t, b) for rel, chosen in chosen_by_rel.items() for i, b in enumerate(as_blocks(test[rel]))
            for t in dict.fromkeys(wt.template for sel in chosen.values() for wt in sel.templates)]
    for (rel, i, t, _), sc in zip(jobs, score_templates(scorer, [(t, b) for _, _, t, b in jobs])):
        scored_by_rel[rel][i][t] = sc
    for rel, chosen in chosen_by_rel.items():
        blocks = as_blocks(test[rel])
        test_scored = scored_by_rel[rel]
        for row, sel in chosen.items():
            sel = sel.model_copy(update={"row": row_label(row, k)})  # its scores carry the row too
            sels[row].append(sel)
            scores[row].append(evaluate_blocks(scorer, sel, blocks, test_scored))
    return Comparison(scores, sels, races, fallbacks)


def as_blocks(facts: RelationFacts | list[RelationFacts]) -> list[RelationFacts]:
    """A relation's facts as a list of blocks, each with its own candidate set (one block: itself)."""
    return [facts] if isinstance(facts, RelationFacts) else list(facts)


def row_label(row: str, k: int) -> str:
    return row.replace("top-K", f"top-{k}")


def relation_name(rel: str | None, labels: dict[str, str] | None) -> str:
    """`P19 (place of birth)` where the relations file gives a label, else the id."""
    label = (labels or {}).get(rel)
    return f"{rel} ({label})" if label else str(rel)


def relation_labels(path: str | Path) -> dict[str, str]:
    """relation -> its `label` in a relations JSONL (LAMA's relations.jsonl has them); {} for other files."""
    from promptmine.core.io import iter_jsonl

    if not str(path).endswith((".jsonl", ".json", ".jsonl.gz")):
        return {}
    return {obj["relation"]: obj["label"] for _, obj in iter_jsonl(path)
            if isinstance(obj.get("relation"), str) and isinstance(obj.get("label"), str) and obj["label"].strip()}


RECOMMEND_ROW = "Mined+Paraphrased top-1"  # the single prompt `run` recommends: the best of all on training


@dataclass
class Recommendation:
    """What the report tells a user to do for one relation: `prompt` (the manual one when `keep`),
    the P@1 gain of the selected prompt over the manual on the test facts (fractions, with a 95%
    paired bootstrap interval) and how many test facts that rests on."""

    relation: str
    manual: str
    selected: str
    keep: bool
    why: str
    gain: float
    low: float
    high: float
    n: int

    @property
    def prompt(self) -> str:
        return self.manual if self.keep else self.selected


def hits(score: Score) -> list[bool]:
    return [r == 1 for r in score.ranks]


def recommend(comp: Comparison, *, row: str = RECOMMEND_ROW, seed: int = 0) -> list[Recommendation]:
    """Per relation: the prompt `row` selected on the training facts, recommended only when its gain
    over the manual prompt on the test facts has a 95% paired bootstrap interval above zero; else
    "keep yours", saying whether selection kept the manual, the gain was none, or it was noise."""
    from promptmine.stats import paired_bootstrap

    out = []
    for base, score, msel, sel in zip(comp.scores["Manual"], comp.scores[row], comp.selections["Manual"],
                                      comp.selections[row]):
        manual = msel.templates[0].template
        gain, low, high = paired_bootstrap(hits(base), hits(score), seed=seed)
        selected = sel.templates[0].template
        if scored_text(selected) == scored_text(manual):
            keep, why = True, "selection kept the manual prompt"
        elif low > 0:
            keep, why = False, "better on the test facts"
        elif gain <= 0:
            keep, why = True, "the selected prompt did not beat it on the test facts"
        else:
            keep, why = True, "the gain is within noise (the interval includes 0)"
        out.append(Recommendation(str(base.relation), manual, selected, keep, why, gain, low, high, base.n))
    return out


def gain_share(comp: Comparison, row: str) -> tuple[str, int, int] | None:
    """(relation, its gain, the row's total gain) in test facts answered right, when one relation
    carries more than half of a positive gain of `row` over Manual; else None."""
    gains = {str(b.relation): sum(hits(s)) - sum(hits(b)) for b, s in zip(comp.scores["Manual"], comp.scores[row])}
    total = sum(gains.values())
    if total <= 0 or len(gains) < 2:
        return None
    rel = max(gains, key=gains.get)
    return (rel, gains[rel], total) if gains[rel] > total / 2 else None


def shown_rows(comp: Comparison) -> list[str]:
    """ROWS without those whose method ran for no relation (their numbers are another row's)."""
    return [r for r in ROWS if r == "Manual" or any(comp.ran(r)) or not comp.scores[r]]


def _points(delta: float, low: float, high: float) -> str:
    return f"{100 * delta:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]"


def recommendation_table(recs: Sequence[Recommendation], labels: dict[str, str] | None = None) -> str:
    from promptmine.report import markdown_table

    rows = [[relation_name(r.relation, labels), f"`{r.prompt}`" + (" (keep yours)" if r.keep else ""),
             f"`{r.selected}`" if not r.keep or scored_text(r.selected) != scored_text(r.manual) else "(the manual)",
             _points(r.gain, r.low, r.high), r.n, r.why] for r in recs]
    return markdown_table(["relation", "use", "selected on training", "P@1 gain, points [95% CI]", "test facts",
                           "why"], rows)


def comparison_tables(comp: Comparison, k: int, labels: dict[str, str] | None = None) -> tuple[str, str]:
    """(main table: micro P@1 and MRR per shown row with the change over Manual and its 95% paired
    bootstrap interval (test facts resampled); per-relation P@1 table, `-` where a row's method did
    not run, relations named with their `labels` where given)."""
    from promptmine.report import markdown_table
    from promptmine.stats import paired_bootstrap

    base = comp.micro("Manual")[0]
    base_hits = [h for s in comp.scores["Manual"] for h in hits(s)]
    rows = []
    for row in shown_rows(comp):
        p1, m, n = comp.micro(row)
        change = f"{100 * (p1 - base) / base:+.1f}%" if base else "n/a"
        row_hits = [h for s in comp.scores[row] for h in hits(s)]
        interval = "" if row == "Manual" else _points(*paired_bootstrap(base_hits, row_hits))
        ran = comp.ran(row)
        where = "" if all(ran) else f" (ran for {sum(ran)} of {plural(len(ran), 'relation')})"
        rows.append([row_label(row, k) + where, f"{100 * p1:.1f}", f"{100 * m:.1f}", n, change, interval])
    main = markdown_table(["method", "P@1", "MRR", "facts", "P@1 vs Manual (relative)",
                           "P@1 gain, points [95% CI]"], rows)
    rels = [s.relation for s in comp.scores["Manual"]]
    shown = shown_rows(comp)
    per_rel = []
    for i, rel in enumerate(rels):
        per_rel.append([relation_name(rel, labels), comp.scores["Manual"][i].n] +
                       [f"{100 * comp.scores[row][i].p_at_1:.1f}" if comp.ran(row)[i] else "-" for row in shown])
    detail = markdown_table(["relation", "facts"] + [row_label(r, k) for r in shown], per_rel)
    return main, detail


_FACTS_NEEDED = re.compile(r"^(.*?: )(\d+) training facts(; .*)$")


def _reasons(fell: dict[str, str]) -> str:
    """Why a row fell back, relations with the same reason together; reasons that differ only in the
    number of training facts said once with the range (`15-22 training facts; learning weights ...`)."""
    found = [_FACTS_NEEDED.match(w) for w in fell.values()]
    if all(found) and len({(m.group(1), m.group(3)) for m in found}) == 1:
        low, high = min(int(m.group(2)) for m in found), max(int(m.group(2)) for m in found)
        span = str(low) if low == high else f"{low}-{high}"
        return f"{found[0].group(1)}{span} training facts{found[0].group(3)}"
    groups: dict[str, list[str]] = {}
    for rel, why in fell.items():
        groups.setdefault(why, []).append(str(rel))
    if len(groups) == 1:
        return next(iter(groups))
    return "; ".join(f"{', '.join(rels)}: {why}" for why, rels in groups.items())


def row_notes(comp: Comparison, k: int) -> list[str]:
    """Sentences on the rows whose method did not run everywhere (hidden, or `-` per relation)."""
    out = []
    for row in ROWS[1:]:
        fell = comp.fallbacks.get(row, {})
        if not fell or not comp.scores[row]:
            continue
        why = _reasons(fell)
        if not any(comp.ran(row)):
            out.append(f"{row_label(row, k)} is not shown: it ran for no relation ({why}).")
        else:
            out.append(f"{row_label(row, k)} did not run for {', '.join(fell)} ({why}); `-` there below.")
    return out


def write_report(out_dir: Path, comp: Comparison, k: int, *, title: str, notes: Sequence[str] = (),
                 pools: dict[str, Pool] | None = None, labels: dict[str, str] | None = None,
                 seed: int = 0) -> Path:
    """report.md (what to use per relation, tables, chosen prompts), accuracy.png, selections.jsonl and
    scores.jsonl in out_dir; with `pools`, the notes end with the candidates per relation
    (`pool_sizes`); `labels` name the relations in the report (relation -> label)."""
    from promptmine.core.io import atomic_write, write_jsonl
    from promptmine.report import bar_chart

    out_dir.mkdir(parents=True, exist_ok=True)
    main, detail = comparison_tables(comp, k, labels)
    shown = shown_rows(comp)
    micro = [comp.micro(r) for r in shown]
    bar_chart(out_dir / "accuracy.png", [row_label(r, k) for r in shown], [m[0] for m in micro],
              [m[1] for m in micro], title=f"{title}: micro-averaged accuracy by method")
    notes = list(notes) + ([pool_sizes(pools)] if pools else [])
    recs = recommend(comp, seed=seed)
    use = [r for r in recs if not r.keep]
    summary = (f"Use the selected prompt for {', '.join(relation_name(r.relation, labels) for r in use)}; "
               f"keep yours for the {plural(len(recs) - len(use), 'other relation')}." if use else
               "Keep your prompts: no selected prompt beat the manual one by more than the noise of "
               f"{plural(sum(r.n for r in recs), 'test fact')}.")
    advice = [summary, "Selected on the training facts (the best single prompt of all candidates); gain in "
              "P@1 points over the manual prompt on the test facts, with a 95% paired bootstrap interval."]
    best = max(shown[1:], key=lambda r: comp.micro(r)[0], default=None)
    share = gain_share(comp, best) if best else None
    if share:
        rel, g, total = share
        advice.append(f"{relation_name(rel, labels)} carries most of the gain of {row_label(best, k)}: "
                      f"{g} of the {plural(total, 'test fact')} it answers right beyond Manual; without it "
                      f"the gain is {plural(total - g, 'fact')}.")
    lines = [f"# {title}", ""] + [part for note in notes for part in (note, "")] + [
             "## What to use", "", *[part for a in advice for part in (a, "")], recommendation_table(recs, labels),
             "", "## Micro-averaged over all test facts", "", main, ""]
    lines += [part for note in row_notes(comp, k) for part in (note, "")]
    lines += ["![accuracy by method](accuracy.png)", "", "## P@1 per relation", "", detail, "",
              "## Chosen prompts", ""]
    for row in shown:
        lines.append(f"### {row_label(row, k)}")
        for sel, ran in zip(comp.selections[row], comp.ran(row)):
            parts = [f"`{wt.template}`" + (f" ({wt.weight:.2f})" if len(sel.templates) > 1 else "")
                     for wt in sel.templates]
            seen = f" [{sel.facts} training facts]" if sel.facts is not None else ""
            note = f" ({sel.note})" if sel.note else ""
            if not ran and not sel.note:
                note = f" ({comp.fallbacks[row][sel.relation]})"
            lines.append(f"- {relation_name(sel.relation, labels)}: " + ", ".join(parts) + seen + note)
        lines.append("")
    with atomic_write(out_dir / "report.md") as f:
        f.write("\n".join(lines))
    write_jsonl(out_dir / "selections.jsonl", [s for row in ROWS for s in comp.selections[row]])
    write_jsonl(out_dir / "scores.jsonl", [s for row in ROWS for s in comp.scores[row]])
    return out_dir / "report.md"


# -- candidates: mining and paraphrasing ---------------------------------------------------------

def mine_pools(corpus: Sequence[str], train_pairs: Sequence[Pair], top: int) -> dict[str, list[Candidate]]:
    from promptmine.mining import mine

    result = mine(list(corpus), list(train_pairs), top=top)
    log(f"mine: {result.stats.get('sentences_matched', '?')} sentences matched, "
        f"{plural(result.stats.get('templates_kept', 0), 'template')} kept")
    return result.candidates


def paraphrase_pools(manual: dict[str, str], routes: Sequence[tuple[str, list[str]]], top: int,
                     options: dict[str, dict] | None = None, *, generations: int = 2,
                     breadth: int = 10, dropped: list[dict] | None = None) -> dict[str, list[Candidate]]:
    """Paraphrases of each manual template from all (backend, pivots) routes available here together,
    grown over `generations` (`promptmine.paraphrasing.grow_paraphrases`: chained pivots, round trips
    of the best `breadth` round trips), best first, at most `top` per relation; a missing backend or
    pivot is skipped with a note. Every relation is a key: an empty list means no paraphrase.
    `options`: per backend name, its options (e.g. `{"marian": {"model_dir": "~/models"}}`).
    `dropped`, when given, receives the paraphrases `filters.hygiene` dropped ({relation, template,
    method, reason})."""
    from promptmine.paraphrasing import RoundTripStats, grow_paraphrases, open_routes

    rels = list(manual)
    usable = open_routes(routes, options)
    if not usable:
        return {rel: [] for rel in rels}
    stats = RoundTripStats()
    found = grow_paraphrases([manual[r] for r in rels], usable, generations=generations, breadth=breadth,
                             top=top, relations=rels, stats=stats)
    if dropped is not None:
        dropped += [{"relation": rels[i], "template": text, "method": "paraphrase", "reason": why}
                    for i, text, why in stats.rejected]
    out = {rel: [c for c in cands if c.pivot] for rel, cands in zip(rels, found)}  # drop the original
    empty = [rel for rel in rels if not out[rel]]
    log(f"paraphrase: {plural(sum(map(len, out.values())), 'paraphrase')} via "
        + ", ".join(f"{t.name}:{','.join(p)}" for t, p in usable) + f" ({plural(generations, 'generation')})"
        + (f"; none for {', '.join(empty)}" if empty else ""))
    return out


def clean_mined(found: dict[str, list[Candidate]], manual: dict[str, str],
                dropped: list[dict]) -> dict[str, list[Candidate]]:
    """The mined candidates `filters.hygiene` keeps (relative to each relation's manual template);
    the others are appended to `dropped` with their reason."""
    from promptmine.filters import hygiene

    out = {}
    for rel, cands in found.items():
        out[rel] = []
        for c in cands:
            why = hygiene(c.template, manual[rel]) if rel in manual else None
            if why:
                dropped.append({"relation": rel, "template": c.template, "method": c.method, "reason": why})
            else:
                out[rel].append(c)
    return out


def hygiene_note(dropped: Sequence[dict], kept: int) -> str:
    """The report's sentence on the candidates dropped before selection, by reason."""
    from promptmine.paraphrasing import hygiene_counts

    if not dropped:
        return (f"Candidate hygiene: none of the {plural(kept, 'candidate')} was a tautology, a role swap, "
                "a new negation or a fragment.")
    by_rel = ", ".join(f"{r} {sum(d['relation'] == r for d in dropped)}"
                       for r in dict.fromkeys(d["relation"] for d in dropped))
    return (f"Candidate hygiene: {plural(len(dropped), 'candidate')} dropped before selection ("
            + hygiene_counts([d["reason"] for d in dropped]) + f"; per relation: {by_rel}), "
            f"{plural(kept, 'candidate')} kept; the dropped ones are in `dropped.jsonl` with their reason.")


def pool_sizes(pools: dict[str, Pool]) -> str:
    """The report's line on how many distinct candidates each relation had, naming the relations
    that got no mined template or no paraphrase (their rows fall back to the manual prompt), and
    those whose candidates differ from the manual prompt only in spacing or punctuation."""
    sizes = {rel: pool.dedupe() for rel, pool in pools.items()}
    parts = [f"{rel} {len(p.mined)}/{len(p.paraphrased)}" for rel, p in sizes.items()]
    line = "Distinct candidates per relation (mined/paraphrased): " + ", ".join(parts) + "."
    for what, attr in (("mined template", "mined"), ("paraphrase", "paraphrased")):
        missing = [rel for rel, p in sizes.items() if not getattr(p, attr)]
        if missing:
            line += (f" No {what} for {', '.join(missing)}: {'its' if len(missing) == 1 else 'their'} rows "
                     "there are the manual prompt.")
    alike = [rel for rel, p in sizes.items()
             if any(template_key(t) == template_key(p.manual) for t in p.mined + p.paraphrased)]
    if alike:
        line += (f" {', '.join(alike)}: a candidate is the manual prompt up to spacing or punctuation "
                 "(e.g. `[Y].` for `[Y] .`); kept apart, as the scorer tells them apart.")
    return line


def warn_unmatched(pairs: Sequence[Pair], manual: dict[str, str], relations_path, pairs_path) -> None:
    """Say what `run` leaves out rather than dropping it silently: relations of the relations file
    without a fact, and facts without a relation or of a relation the file does not have."""
    from collections import Counter

    from promptmine.core.progress import warn

    have = {p.relation for p in pairs}
    empty = [r for r in manual if r not in have]
    if empty:
        warn(f"{relations_path}: {plural(len(empty), 'relation')} without a fact in {pairs_path}, left out: "
             + ", ".join(empty))
    loose = sum(p.relation is None for p in pairs)
    if loose:
        warn(f"{pairs_path}: {plural(loose, 'fact')} without a relation, left out (give each a "
             "`predicate_id`/`relation`, or a third TSV column)")
    other = Counter(p.relation for p in pairs if p.relation is not None and p.relation not in manual)
    if other:
        warn(f"{pairs_path}: {plural(sum(other.values()), 'fact')} of {plural(len(other), 'relation')} that "
             f"{relations_path} does not have, left out: " + ", ".join(sorted(other)[:10])
             + (" ..." if len(other) > 10 else ""))


RUN_FILES = ("report.md", "accuracy.png", "candidates.jsonl", "dropped.jsonl", "selections.jsonl", "scores.jsonl")


@contextmanager
def staged_folder(final: Path):
    """A fresh folder beside `final` to write a run's files into; on success they replace `final`'s
    (a missing `final` is the folder renamed; an existing one gets each file replaced and the run
    files this run did not write removed, other files left alone); on an error or an interrupt it is
    deleted, so `final` never mixes files of two runs."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.partial-", dir=final.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if not final.exists():
        tmp.rename(final)
        return
    for name in RUN_FILES:
        if not (tmp / name).exists() and (final / name).exists():
            (final / name).unlink()
    for f in tmp.iterdir():
        os.replace(f, final / f.name)
    tmp.rmdir()


# -- the library function -------------------------------------------------------------------------

@dataclass
class RunResult:
    """What `run` produced: the comparison (per row, per relation scores and selections), the
    candidates it compared, the main table (markdown) and the report's path."""

    comparison: Comparison
    candidates: list[Candidate]
    table: str
    report: Path


def run(relations: str | Path = CORPORA / "sample_relations.jsonl", pairs: str | Path = CORPORA / "sample_pairs.jsonl",
        corpus: Sequence[str | Path] | None = None, *, out: str | Path = "promptmine-run", mined: int = 10,
        paraphrased: int = 10, routes: str | Sequence[tuple[str, list[str]]] = "auto",
        translator_options: dict[str, dict] | None = None, test_fraction: float = 0.5, seed: int = 0, k: int = 3,
        max_candidates: int | None = None, selection: str = "race", budget: int | None = None,
        scorer="causal", options: dict | None = None, cache: bool = True, strict: bool = False) -> RunResult:
    """Mine, paraphrase, select on a training half of each relation's pairs and compare the ways of
    prompting (ROWS) on the test half; writes report.md, accuracy.png, candidates.jsonl,
    selections.jsonl and scores.jsonl into `out`.

    `relations`: JSONL with each relation's manual `template`; `pairs`: its facts; `corpus`: text to
    mine (default: the bundled sample). `routes`: back-translation routes, `"auto"` (every route
    installed here), `"bergamot:pt,apertium:es"` or [(backend, [pivots])], unavailable ones skipped;
    `translator_options` per backend name.
    `selection`: race or exhaustive (`budget`: (fact, template) pairs per relation for racing).
    `scorer`/`options`/`cache`: as for `promptmine.scoring.load_scorer`, with the scorer's own
    defaults (the same as evaluate's and select's, so their score caches are shared). `strict`: a
    malformed line of the pairs file is an error (default: skipped and reported)."""
    from promptmine.core.io import read_pairs, read_templates, write_jsonl
    from promptmine.scoring import load_scorer

    started = time.perf_counter()
    corpus = [str(c) for c in corpus] if corpus else sorted(glob.glob(str(CORPORA / "sample_corpus*.txt")))
    if not corpus:
        raise InputError("no corpus given and no bundled corpora/sample_corpus*.txt found")
    if selection not in SELECTION_METHODS:
        raise PromptmineError(f"unknown selection {selection!r}; choose from {', '.join(SELECTION_METHODS)}")
    manual: dict[str, str] = {}
    for rel, t in read_templates(str(relations)):
        if rel is None:
            raise InputError("every line needs a `relation`", relations)
        manual.setdefault(rel, t)
    read = read_pairs(pairs, strict=strict)
    facts_all = [p for p in read if p.relation in manual]
    if not facts_all:
        raise InputError(f"no pairs of the relations in {relations} (pairs need a predicate_id/relation)", pairs)
    warn_unmatched(read, manual, relations, pairs)
    manual = {r: t for r, t in manual.items() if any(p.relation == r for p in facts_all)}
    train_pairs, test_pairs = split_pairs(facts_all, test_fraction, seed)
    log(f"run: {plural(len(manual), 'relation')}, {len(train_pairs)} training and {plural(len(test_pairs), 'test pair')} "
        f"(split per relation, seed {seed}); corpus: {', '.join(map(str, corpus))}")

    if isinstance(routes, str):
        routes = parse_routes(routes)
        routes_text = ",".join(f"{b}:{p}" for b, ps in routes for p in ps) or "none"
    else:
        routes = list(routes)
        routes_text = ",".join(f"{b}:{p}" for b, ps in routes for p in ps) or "none"
    scorer = load_scorer(scorer, options, cache=cache)
    stages = ("mine", "paraphrase", "select", "evaluate", "report")

    def at(name: str) -> None:
        stage(name, stages.index(name) + 1, len(stages))

    at("mine")
    found_mined = mine_pools(corpus, train_pairs, mined)
    at("paraphrase")
    dropped: list[dict] = []
    para = paraphrase_pools(manual, routes, paraphrased, translator_options, dropped=dropped)
    found_mined = clean_mined(found_mined, manual, dropped)
    pools = {r: Pool(t, [c.template for c in found_mined.get(r, [])], [c.template for c in para.get(r, [])])
             for r, t in manual.items()}
    final = Path(out)
    with staged_folder(final) as out_dir:  # an interrupted run leaves the earlier report whole
        candidates = [c for r in manual for c in found_mined.get(r, []) + para.get(r, [])]
        write_jsonl(out_dir / "candidates.jsonl", candidates)
        write_jsonl(out_dir / "dropped.jsonl", dropped)

        def facts(ps: list[Pair]) -> dict[str, RelationFacts]:
            return {r: relation_facts(r, [p for p in ps if p.relation == r], max_candidates=max_candidates)
                    for r in manual}

        comp = compare(scorer, pools, facts(train_pairs), facts(test_pairs), k=k, seed=seed, method=selection,
                       budget=budget, on_stage=at)
        at("report")
        table, _ = comparison_tables(comp, k)
        notes = [f"Model: {scorer.description}; score cache id `{scorer.identity}`. "
                 f"Relations: {len(manual)}; pairs split per relation into "
                 f"{len(train_pairs)} training (mining, selection, weights) and {len(test_pairs)} test facts "
                 f"(seed {seed}). Candidates per fact: the distinct objects of the relation in that split"
                 + (f" (at most {max_candidates})" if max_candidates else "") + ".",
                 f"Candidate prompts per relation: the manual one, up to {mined} mined, up to "
                 f"{paraphrased} paraphrased ({routes_text}).",
                 hygiene_note(dropped, len(candidates))]
        # Not in the report, so that a warm run writes the same bytes as a cold one.
        log(f"scores: {scorer.computed} computed, {scorer.reused} from the cache; "
            f"{time.perf_counter() - started:.0f} s in all")
        report = write_report(out_dir, comp, k, title="promptmine run", notes=notes, pools=pools,
                              labels=relation_labels(relations), seed=seed)
        report = final / report.name
    log(f"report: {report} (chart: {final / 'accuracy.png'})")
    return RunResult(comp, candidates, table, report)

