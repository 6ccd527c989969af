"""The task search's report (of a promptmine.tasks.optimize.TaskResult): what to use, how sure that is, and
what the search tried.

Files: report.md (held-out table with the majority-label control and paired bootstrap intervals,
the recommendation, what the winner changed with a diff, its label words, demonstrations and
calibration, the spread over every variant tried, the stages), accuracy.png, heldout.json,
variants.jsonl (every prompt tried), heldout_predictions.jsonl (each held-out example's line, gold label
and every row's prediction), and the prompts ready to use with `promptmine predict`: best_prompt.txt (the
prompt with its slots), best_prompt.json (the saved prompt: prompt, fields, label words, calibration and
the prior it subtracts, the scorer, the data; promptmine.tasks.saved) and rank_ensemble.json /
optimized_ensemble.json where those rows ran.
"""

from __future__ import annotations

import difflib
import json
import statistics
from pathlib import Path

from promptmine.report.render import bar_chart, markdown_table

# the files write_task_report writes (a staged report folder drops those of an earlier run it did not write)
TASK_FILES = ("report.md", "accuracy.png", "variants.jsonl", "heldout.json", "heldout_predictions.jsonl",
              "best_prompt.txt", "best_prompt.json", "rank_ensemble.json", "optimized_ensemble.json")
KEPT_WORDS_ROW = "best with your label words"  # the held-out row of promptmine.tasks.optimize.evaluate_heldout


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _interval(d) -> str:
    return "-" if d is None else f"{100 * d[0]:+.1f} [{100 * d[1]:+.1f}, {100 * d[2]:+.1f}]"


def _oneline(text: str, width: int = 110) -> str:
    t = " ⏎ ".join(line for line in text.strip().splitlines() if line.strip())
    return t if len(t) <= width else t[:width - 1] + "…"


def spread(result) -> tuple[float, float, float, int]:
    """(min, median, max) selection accuracy over the variants tried, on the first block every variant
    was scored on, and the number of variants."""
    acc = list(result.search.first_block.values())
    if not acc:
        return 0.0, 0.0, 0.0, 0
    return min(acc), statistics.median(acc), max(acc), len(acc)


def write_task_report(out_dir: str | Path, result, *, scorer_name: str = "",
                      title: str = "Task prompt search") -> Path:
    from promptmine.core.io import atomic_write

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    s = result.search
    names = list(result.heldout_metrics)
    bar_chart(out / "accuracy.png", names, [result.heldout_metrics[n].accuracy for n in names],
              [result.heldout_metrics[n].macro_f1 for n in names], title=f"{title}: held-out split",
              series=("accuracy", "macro-F1"))
    rows = [[n, _pct(m.accuracy), _pct(m.macro_f1), _interval(result.intervals.get(n))]
            for n, m in result.heldout_metrics.items()]
    winner, original = result.chosen, result.original
    lo, med, hi, n_var = spread(result)
    diff = "\n".join(difflib.unified_diff(original.prompt.splitlines(), winner.prompt.splitlines(), "original",
                                          "selected", lineterm="", n=1))
    stage_rows = [[st.name, st.candidates, s.variants[st.winner].key, f"{100 * st.accuracy:.1f}", st.facts,
                   f"{st.scorings:,}"] for st in s.stages]
    readout = winner.readout
    lines = [f"# {title}", "",
             f"**{result.recommendation}**", "",
             f"Scorer: {scorer_name}. {result.n_selection} selection examples, {result.n_pool} in the demonstration "
             f"pool, {result.n_heldout} held out (never seen by the search); {result.scorings:,} (example, prompt) "
             f"scorings in {result.seconds:.0f} s.", "",
             f"## Held-out split ({result.n_heldout} examples)", "",
             markdown_table(["prompt", "accuracy", "macro-F1", "vs original (95% paired bootstrap)"], rows), "",
             "![held-out accuracy](accuracy.png)", ""]
    lines += [p for note in result.notes for p in (note, "")]
    lines += ["## The selected prompt", "",
              "What it changed: " + ("; ".join(winner.changes) if winner.changes else "nothing (the original)") + ".",
              "", f"Label words and calibration: {readout.describe(result.labels)}.", "",
              kept_words_line(result), "",
              "Ready to use: `best_prompt.txt` (the prompt) and `best_prompt.json` (with its label words and "
              "the calibration prior), applied to new inputs by `promptmine predict --prompt best_prompt.json "
              "--input new.jsonl -o predictions.jsonl`. It was chosen for promptmine's calibrated "
              "log-probability readout of the label words with this scorer, not for a model that generates "
              "its answer.", "", "```", winner.prompt, "```", ""]
    if diff:
        lines += ["Diff against the original:", "", "```diff", diff, "```", ""]
    lines += ["## How sensitive this prompt is", "",
              f"Selection accuracy of the {n_var} prompts tried, on the first block of selection examples that "
              f"all were scored on: min {_pct(lo)}, median {_pct(med)}, max {_pct(hi)}.", "",
              "## Search stages", "",
              markdown_table(["stage", "candidates", "winner", "selection accuracy", "examples", "scorings"],
                             stage_rows), ""]
    if result.rank:
        lines += ["## Ensembles", "",
                  "rank: " + ", ".join(f"{v.key} ({w:.2f})" for v, w in result.rank), ""]
        if result.optimized:
            lines += ["optimized: " + ", ".join(f"{v.key} ({w:.2f})" for v, w in result.optimized), ""]
    tried = sorted(s.first_block.items(), key=lambda kv: -kv[1])
    lines += ["## Prompts tried (first-block selection accuracy)", "",
              markdown_table(["variant", "stage", "accuracy", "changes", "prompt"],
                             [[key, s.variants[key].stage, _pct(a), "; ".join(s.variants[key].changes) or "-",
                               _oneline(s.variants[key].prompt, 80)] for key, a in tried]), ""]
    with atomic_write(out / "report.md") as f:
        f.write("\n".join(lines))
    with atomic_write(out / "variants.jsonl") as f:
        for key, v in s.variants.items():
            f.write(json.dumps({"variant": key, "stage": v.stage, "prompt": v.prompt, "changes": list(v.changes),
                                "words": [list(ws) for ws in v.readout.words], "calibration": v.readout.calibration,
                                "first_block_accuracy": s.first_block.get(key), "chosen": v is winner}) + "\n")
    with atomic_write(out / "heldout.json") as f:
        json.dump({"n_selection": result.n_selection, "n_heldout": result.n_heldout, "n_pool": result.n_pool,
                   "ids": list(result.heldout_lines),
                   "recommendation": result.recommendation, "chosen": winner.prompt, "changes": list(winner.changes),
                   "rank": [[v.prompt, w] for v, w in result.rank],
                   "optimized": [[v.prompt, w] for v, w in result.optimized],
                   "spread": {"min": lo, "median": med, "max": hi, "variants": n_var},
                   "kept_words": kept_words(result),
                   "rows": {n: {"accuracy": m.accuracy, "macro_f1": m.macro_f1, "n": m.n,
                                "vs_original": result.intervals.get(n)} for n, m in result.heldout_metrics.items()}},
                  f, indent=1)
    with atomic_write(out / "heldout_predictions.jsonl") as f:
        for i, (line, key, gold) in enumerate(zip(result.heldout_lines, result.heldout_ids, result.heldout_gold)):
            f.write(json.dumps({"line": line, "id": key, "gold": gold,
                                "predictions": {n: p[i] for n, p in result.predictions.items()}},
                               ensure_ascii=False) + "\n")
    with atomic_write(out / "best_prompt.txt") as f:
        f.write(winner.prompt + "\n")
    for name, saved in result.saved.items():
        saved.save(out / SAVED_FILES.get(name, "rank_ensemble.json" if name.startswith("rank") else name + ".json"))
    return out / "report.md"


SAVED_FILES = {"selected": "best_prompt.json", "optimized ensemble": "optimized_ensemble.json"}


def kept_words(result) -> dict | None:
    """heldout.json's record of the best prompt with the user's own label words (None: none was judged)."""
    s = result.search
    kept = s.kept_words
    if kept is None:
        return None
    held = result.heldout_metrics.get("selected" if kept is result.chosen else
                                      "original" if kept is result.original else KEPT_WORDS_ROW)
    return {"variant": kept.key, "prompt": kept.prompt, "words": [list(ws) for ws in kept.readout.words],
            "calibration": kept.readout.calibration, "changes": list(kept.changes),
            "selection_accuracy": s.kept_words_accuracy, "selection_examples": s.kept_words_examples,
            "heldout_accuracy": None if held is None else held.accuracy}


def kept_words_line(result) -> str:
    """One sentence: the best prompt the search tried that keeps the user's own label words, beside the
    winner, so the cost of readability (or of the model's own words) is visible."""
    s, winner, original = result.search, result.chosen, result.original
    if winner.readout.words == original.readout.words:
        return "The selected prompt keeps your label words."
    kept = s.kept_words
    if kept is None:
        return "No prompt with your label words was judged on the selection split."
    held = result.heldout_metrics.get("original" if kept is original else KEPT_WORDS_ROW)
    what = f"changed: {'; '.join(kept.changes)}" if kept.changes else "your prompt as it is"
    return (f"Best prompt that keeps your label words: {kept.key} ({what}), selection accuracy "
            f"{_pct(s.kept_words_accuracy)} on {s.kept_words_examples} examples"
            + ("" if held is None else f", held-out {_pct(held.accuracy)}") +
            f"; the selected prompt: held-out {_pct(result.heldout_metrics['selected'].accuracy)}.")


def best_prompt(result) -> dict:
    """The selected prompt's saved file as a dict (promptmine.tasks.saved.TaskPrompt): the prompt, its
    fields, label -> words, the calibration with the log-prior per label that its label log-probabilities
    are shifted by (before renormalising), the scorer and the data it was chosen on."""
    return result.saved["selected"].model_dump(mode="json")
