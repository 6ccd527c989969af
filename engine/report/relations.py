"""The relation reports: `promptmine run`'s report.md (what to use per relation, the tables, the chosen
prompts) with accuracy.png, selections.jsonl and scores.jsonl, written from a `Comparison`; and
`promptmine evaluate`'s terminal table of scores."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from promptmine.core.progress import plural
from promptmine.core.records import Score, Selection, template_key
from promptmine.report.render import bar_chart, markdown_table, text_table
from promptmine.scoring import micro_average
from promptmine.selection import ROWS, Comparison, Pool, row_label, scored_text


def relation_name(rel: str | None, labels: dict[str, str] | None) -> str:
    """`P19 (place of birth)` where the relations file gives a label, else the id."""
    label = (labels or {}).get(rel)
    return f"{rel} ({label})" if label else str(rel)


RECOMMEND_ROW = "Searched (all stages)"  # the prompt `run` recommends: the relation search's, every stage


def show_prompt(text: str) -> str:
    """A prompt on one line of a report: its demonstrations' line breaks shown as ` ⏎ `."""
    return text.replace("\n", " ⏎ ")


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


def recommended(comp: Comparison, recs: Sequence[Recommendation], *, row: str = RECOMMEND_ROW) -> list[Selection]:
    """Per relation, the Selection the report says to use (`recommended.jsonl`, what `promptmine predict`
    applies): the manual prompt where it says keep yours, else `row`'s; its `note` says why."""
    out = []
    for rec, manual, chosen in zip(recs, comp.selections["Manual"], comp.selections[row]):
        sel = manual if rec.keep else chosen
        note = f"recommended: {rec.why}" + (f"; {sel.note}" if sel.note else "")
        out.append(sel.model_copy(update={"note": note}))
    return out


def hits(score: Score) -> list[bool]:
    return [r == 1 for r in score.ranks]


def recommend(comp: Comparison, *, row: str = RECOMMEND_ROW, seed: int = 0) -> list[Recommendation]:
    """Per relation: the prompt `row` selected on the training facts, recommended only when its gain
    over the manual prompt on the test facts has a 95% paired bootstrap interval above zero; else
    "keep yours", saying whether selection kept the manual, the gain was none, or it was noise."""
    from promptmine.scoring.metrics import paired_bootstrap

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
    rows = [[relation_name(r.relation, labels), f"`{show_prompt(r.prompt)}`" + (" (keep yours)" if r.keep else ""),
             f"`{show_prompt(r.selected)}`" if not r.keep or scored_text(r.selected) != scored_text(r.manual)
             else "(the manual)",
             _points(r.gain, r.low, r.high), r.n, r.why] for r in recs]
    return markdown_table(["relation", "use", "selected on training", "P@1 gain, points [95% CI]", "test facts",
                           "why"], rows)


def comparison_tables(comp: Comparison, k: int, labels: dict[str, str] | None = None) -> tuple[str, str]:
    """(main table: micro P@1 and MRR per shown row with the change over Manual and its 95% paired
    bootstrap interval (test facts resampled); per-relation P@1 table, `-` where a row's method did
    not run, relations named with their `labels` where given)."""
    from promptmine.scoring.metrics import paired_bootstrap

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


def search_notes(comp: Comparison, k: int) -> list[str]:
    """How often each row kept the manual prompt (no choice clearly better on the training facts), and
    the candidates dropped before selection as broken, by reason."""
    from collections import Counter

    out = []
    kept = {row: comp.kept_manual(row) for row in ROWS[1:] if comp.searches.get(row)}
    if kept:
        n = len(comp.scores["Manual"])
        out.append("Kept the manual prompt (no choice clearly better on the training facts: a paired lower bound "
                   "at or below zero): " + "; ".join(f"{row_label(row, k)} {len(rels)} of {n}"
                                                      for row, rels in kept.items()) + ".")
        if kept.get(RECOMMEND_ROW):
            out.append(f"{RECOMMEND_ROW} kept it for " + "; ".join(f"{rel} ({why})"
                                                                   for rel, why in kept[RECOMMEND_ROW].items()) + ".")
    why = Counter(w.split(" (")[0] for d in comp.screened.values() for w in d.values())
    if why:
        out.append(f"Dropped before selection as broken: {plural(sum(why.values()), 'candidate')} ("
                   + ", ".join(f"{w} {c}" for w, c in why.most_common()) + "); `run` lists them in dropped.jsonl.")
    return out


def write_report(out_dir: Path, comp: Comparison, k: int, *, title: str, notes: Sequence[str] = (),
                 pools: dict[str, Pool] | None = None, labels: dict[str, str] | None = None,
                 seed: int = 0) -> Path:
    """report.md (what to use per relation, tables, chosen prompts), accuracy.png, selections.jsonl,
    recommended.jsonl (the selection to use per relation, for `predict`) and scores.jsonl in out_dir;
    with `pools`, the notes end with the candidates per relation (`pool_sizes`); `labels` name the
    relations in the report (relation -> label)."""
    from promptmine.core.io import atomic_write, write_jsonl

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
    advice = [summary, f"Selected on the training facts ({RECOMMEND_ROW}: wording, format, demonstrations and "
              "calibration, each replacing your prompt only when clearly better there); gain in P@1 points over "
              "the manual prompt on the test facts, with a 95% paired bootstrap interval."]
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
    lines += [part for note in row_notes(comp, k) + search_notes(comp, k) for part in (note, "")]
    lines += ["![accuracy by method](accuracy.png)", "", "## P@1 per relation", "", detail, "",
              "## Chosen prompts", ""]
    for row in shown:
        lines.append(f"### {row_label(row, k)}")
        for sel, ran in zip(comp.selections[row], comp.ran(row)):
            parts = [f"`{show_prompt(wt.template)}`" + (f" ({wt.weight:.2f})" if len(sel.templates) > 1 else "")
                     for wt in sel.templates] + (["calibrated"] if sel.calibration else [])
            seen = f" [{sel.facts} training facts]" if sel.facts is not None else ""
            note = f" ({sel.note})" if sel.note else ""
            if not ran and not sel.note:
                note = f" ({comp.fallbacks[row][sel.relation]})"
            lines.append(f"- {relation_name(sel.relation, labels)}: " + ", ".join(parts) + seen + note)
        lines.append("")
    with atomic_write(out_dir / "report.md") as f:
        f.write("\n".join(lines))
    write_jsonl(out_dir / "selections.jsonl", [s for row in ROWS for s in comp.selections[row]])
    write_jsonl(out_dir / "recommended.jsonl", recommended(comp, recs))
    write_jsonl(out_dir / "scores.jsonl", [s for row in ROWS for s in comp.scores[row]])
    return out_dir / "report.md"


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


# -- `promptmine evaluate`'s table --------------------------------------------------------------

def format_scores(scores: Sequence[Score]) -> str:
    """One line per score, then the micro average; scores of several methods (a selections file)
    get a method column and one micro average per method, never one across methods."""
    groups: dict[str, list[Score]] = {}
    for s in scores:
        groups.setdefault(score_group(s), []).append(s)
    several = len(groups) > 1
    rows = [[s.relation or "-"] + ([score_group(s)] if several else []) +
            [s.template, s.n, f"{100 * s.p_at_1:.1f}", f"{100 * s.mrr:.1f}"] for s in scores]
    for group, members in groups.items():
        p1, m, n = micro_average(members)
        rows.append(["micro"] + ([group] if several else []) +
                    [f"all {len(members)} rows", n, f"{100 * p1:.1f}", f"{100 * m:.1f}"])
    return text_table(["relation"] + (["method"] if several else []) + ["template", "n", "P@1", "MRR"], rows)


def score_group(score: Score) -> str:
    """What a score's rows are averaged under: run's row, else the selection method (plain
    templates: "template")."""
    if score.row:
        return score.row
    return "template" if score.method in (None, "manual") else score.method
