"""Saved prompts: what a search chose, as a typed, versioned file, and applying it to new inputs
(`promptmine predict`, `promptmine.load_prompt(path).predict(inputs)`).

Three kinds, one `SavedPrompt` union told apart by `kind`:

- `task_prompt` (`best_prompt.json` of `run --task`): a classification prompt with `{slots}`, its label
  words, calibration and the log-prior the calibration subtracts;
- `task_ensemble` (`rank_ensemble.json`, `optimized_ensemble.json`): weighted members of that shape,
  their calibrated label log-probabilities summed with the weights (as the report's ensemble rows);
- `relation_selection`: a relation's selected template(s) with weights and the content-free fillers
  a calibrated readout subtracts (`run`'s and `select`'s Selection records; `load_prompt` reads a
  selections file too), ranking candidate objects for new subjects.

Every file names the scorer it was chosen with (registry name, options, identity) and the data it was
selected on. A prompt is chosen for one model at one precision: applying it with another says so and
still runs. It is chosen for promptmine's readout (the log-probabilities of the label words or of the
candidate objects, calibrated), not for a model that generates its answer.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from promptmine.core.errors import InputError, PromptmineError
from promptmine.core.progress import log, plural, warn
from promptmine.core.records import Selection, WeightedTemplate

VERSION = 1
TOP_K = 5  # candidate objects written per subject (relations)
TASK_READOUT = (
    "promptmine's calibrated log-probability readout: each label's score is the log-sum-exp of the "
    "log-probabilities of its words right after the prompt filled with the input, normalised over the "
    "labels; log_prior is subtracted (calibration) and the scores renormalised; the label is the argmax "
    "(ensembles: the weighted sum of their members' calibrated scores). The prompt was chosen for this "
    "readout with this scorer, not for a model that generates its answer: sampled or greedy answers to "
    "the same prompt may differ.")
RELATION_READOUT = (
    "promptmine's log-probability readout: each candidate object is scored by the log-probability of the "
    "statement with [X] the subject and [Y] the object (from [Y] on), minus the same under the content-free "
    "subjects in `calibration` when given; ensembles sum their templates' scores with the weights; the "
    "candidates are ranked by that score. Chosen for this readout with this scorer, not for a model that "
    "generates its answer.")


class ScorerInfo(BaseModel):
    """The scorer a prompt was chosen with: enough to load it again (`name` and `options`, as
    `load_scorer` takes them) and to tell another model or precision (`identity`, the cache key)."""

    name: str | None = Field(None, description="registry name (causal, masked, openai); None: a scorer built in code")
    options: dict[str, Any] = Field(default_factory=dict, description="its options as given (model, dtype, ...)")
    identity: str = Field(description="model files, precision and engine: the score cache's key")
    description: str = ""


class SelectedOn(BaseModel):
    """The data a prompt was selected on."""

    examples: str | None = Field(None, description="the labelled examples (task) or training facts (relation)")
    heldout: str | None = Field(None, description="the held-out examples' file, when given apart")
    n_selection: int | None = None
    n_heldout: int | None = None
    n_pool: int | None = None
    seed: int | None = None


class TaskMember(BaseModel):
    """One prompt and how its answer is read out."""

    prompt: str = Field(description="the prompt with its {slots}")
    verbalisers: dict[str, list[str]] = Field(description="label -> its words (label order)")
    calibration: Literal["raw", "contextual", "marginal"] = "raw"
    log_prior: dict[str, float] | None = Field(None, description="per label, subtracted before renormalising "
                                                                 "(None: raw)")
    weight: float = 1.0


class _Saved(BaseModel):
    format: Literal["promptmine-prompt"] = "promptmine-prompt"
    version: int = VERSION
    name: str = Field("", description="what the report calls it (selected, rank ensemble (top 2), ...)")
    scorer: ScorerInfo
    selected_on: SelectedOn = Field(default_factory=SelectedOn)

    def save(self, path: str | Path) -> Path:
        from promptmine.core.io import atomic_write

        data = self.model_dump(mode="json")
        first = {key: data.pop(key) for key in ("format", "version", "kind", "name") if key in data}
        with atomic_write(Path(path)) as f:
            json.dump({**first, **data}, f, indent=1, ensure_ascii=False)
            f.write("\n")
        return Path(path)


class _Task(_Saved):
    labels: list[str]
    fields: list[str] = Field(description="the input fields the prompt reads (its slots)")
    readout: str = TASK_READOUT

    @property
    def parts(self) -> list[TaskMember]:
        raise NotImplementedError

    def logprobs(self, scorer, rows: Sequence[Mapping[str, str]]):
        """[rows, labels]: each member's calibrated log p(label | row), summed with the weights (one
        prompt: its own). `scorer`: a CachedScorer (or any scorer)."""
        from promptmine.scoring import combine

        mats = [member_logprobs(scorer, m, self.labels, rows) for m in self.parts]
        if len(mats) == 1 and self.parts[0].weight == 1.0:
            return mats[0]
        return combine(mats, [m.weight for m in self.parts])

    def predict(self, inputs, scorer=None, *, options: dict | None = None, cache: bool = True) -> list[dict]:
        """The label of each input and the per-label probabilities: `inputs` a JSONL file (the
        prompt's fields per line; a `label` is kept as `gold`), or a list of Examples, dicts or
        strings (the one field). `scorer`: a scorer, a registry name (with `options`), or None: the
        one the prompt was chosen with. Records: `id` (the input's `id` field, else its 0-based line
        number or index), the input's string fields, `label`, `probabilities`, `gold` when given."""
        examples = task_inputs(inputs, self.fields)
        scorer = self.load_scorer(scorer, options, cache=cache)
        return self.records(examples, self.logprobs(scorer, [dict(e.fields) for e in examples]))

    def records(self, examples, logp) -> list[dict]:
        import numpy as np

        m = np.asarray(logp, dtype=np.float64)
        probs = np.exp(m - m.max(axis=1, keepdims=True)) if len(m) else m
        probs = probs / probs.sum(axis=1, keepdims=True) if len(m) else probs
        out = []
        for i, (e, row) in enumerate(zip(examples, probs)):
            rec: dict[str, Any] = {"id": e.key if e.key is not None else i, **dict(e.fields)}
            rec["label"] = self.labels[int(m[i].argmax())]
            rec["probabilities"] = {lab: float(p) for lab, p in zip(self.labels, row)}
            if e.label:
                rec["gold"] = e.label
            out.append(rec)
        return out

    def load_scorer(self, scorer=None, options: dict | None = None, *, cache: bool = True):
        return open_scorer(self.scorer, scorer, options, cache=cache)


class TaskPrompt(_Task, TaskMember):
    """A task prompt with its label words, calibration and prior (`best_prompt.json`)."""

    kind: Literal["task_prompt"] = "task_prompt"
    changes: list[str] = Field(default_factory=list, description="what it changed from the user's prompt")

    @property
    def parts(self) -> list[TaskMember]:
        return [TaskMember(prompt=self.prompt, verbalisers=self.verbalisers, calibration=self.calibration,
                           log_prior=self.log_prior, weight=self.weight)]


class TaskEnsemble(_Task):
    """Task prompts whose calibrated label log-probabilities are summed with weights."""

    kind: Literal["task_ensemble"] = "task_ensemble"
    method: Literal["rank", "optimized"]
    members: list[TaskMember] = Field(min_length=1)

    @property
    def parts(self) -> list[TaskMember]:
        return list(self.members)


class RelationPrompt(_Saved):
    """A relation's selected template(s): ranks candidate objects for new subjects."""

    kind: Literal["relation_selection"] = "relation_selection"
    relation: str | None = None
    method: str = "manual"
    row: str | None = None
    templates: list[WeightedTemplate] = Field(min_length=1, description="each an opaque string with one [X] "
                                                                        "and one [Y], with its weight")
    calibration: list[str] | None = Field(None, description="content-free subjects whose scores are subtracted; "
                                                            "None: raw log-probabilities")
    candidates: list[str] | None = Field(None, description="the objects to rank when an input gives none")
    readout: str = RELATION_READOUT

    @classmethod
    def of(cls, selection: Selection, *, candidates: Sequence[str] | None = None, scorer: ScorerInfo | None = None,
           selected_on: SelectedOn | None = None) -> RelationPrompt:
        return cls(relation=selection.relation, method=selection.method, row=selection.row,
                   templates=list(selection.templates), calibration=selection.calibration,
                   candidates=None if candidates is None else list(candidates),
                   name=selection.row or selection.method,
                   scorer=scorer or ScorerInfo(identity=selection.model),
                   selected_on=selected_on or SelectedOn(n_selection=selection.facts))

    def scores(self, scorer, subjects: Sequence[str], candidates: Sequence[str]):
        """[subjects, candidates]: the weighted sum of the templates' (calibrated) log-probabilities."""
        from promptmine.scoring import CalibratedScorer, combine

        if self.calibration:
            scorer = CalibratedScorer(scorer, self.calibration)
        mats = [scorer.score(wt.template, list(subjects), list(candidates)) for wt in self.templates]
        return combine(mats, [wt.weight for wt in self.templates])

    def predict(self, inputs, scorer=None, *, candidates=None, k: int = TOP_K, options: dict | None = None,
                cache: bool = True) -> list[dict]:
        return RelationPrompts([self]).predict(inputs, scorer, candidates=candidates, k=k, options=options,
                                               cache=cache)

    def load_scorer(self, scorer=None, options: dict | None = None, *, cache: bool = True):
        return open_scorer(self.scorer, scorer, options, cache=cache)


SavedPrompt = Annotated[TaskPrompt | TaskEnsemble | RelationPrompt, Field(discriminator="kind")]
_ADAPTER: TypeAdapter = TypeAdapter(SavedPrompt)


# -- applying a task prompt --------------------------------------------------------------------------

def member_logprobs(scorer, member: TaskMember, labels: Sequence[str], rows: Sequence[Mapping[str, str]]):
    """[rows, labels] calibrated log p(label | row) under one prompt: its label words scored after the
    prompt (each distinct text once, every word of a row in one scoring, in the words' order: the
    candidate set a row is scored with is part of its score), normalised, the prior subtracted."""
    import numpy as np

    from promptmine.tasks.prompt import scoring_form
    from promptmine.tasks.readout import Readout, calibrate, label_logprobs

    words = tuple(tuple(member.verbalisers[lab]) for lab in labels)
    columns = Readout(words).columns
    template, fill = scoring_form(member.prompt)
    texts = [fill(r) for r in rows]
    distinct = list(dict.fromkeys(texts))
    got = scorer.score(template, distinct, columns) if distinct else np.zeros((0, len(columns)))
    index = {t: i for i, t in enumerate(distinct)}
    m = np.asarray(got, dtype=np.float64)[[index[t] for t in texts]] if texts else np.zeros((0, len(columns)))
    prior = None if member.log_prior is None else np.array([member.log_prior[lab] for lab in labels], dtype=np.float64)
    return calibrate(label_logprobs(m, columns, words), prior)


def task_inputs(inputs, fields: Sequence[str]):
    """Examples from a task file (labels optional) or a list of Examples, dicts or strings."""
    from promptmine.tasks.data import Example, read_task

    if isinstance(inputs, (str, Path)):
        return read_task(inputs, list(fields), labelled=False)
    out = []
    for i, x in enumerate(inputs):
        if isinstance(x, Example):
            e = x if x.line is not None or x.id is not None else Example(x.fields, x.label, i, x.id)
        elif isinstance(x, str):
            if len(fields) != 1:
                raise PromptmineError(f"the prompt reads {len(fields)} fields ({', '.join(fields)}): give each input "
                                      "as a dict")
            e = Example(((fields[0], x),), "", i)
        elif isinstance(x, Mapping):
            key = x.get("id")
            e = Example(tuple((k, v) for k, v in x.items() if k != "label" and isinstance(v, str)),
                        "" if x.get("label") is None else str(x["label"]), i,
                        key if isinstance(key, (str, int, float)) and not isinstance(key, bool) else None)
        else:
            raise PromptmineError(f"input {i}: expected a dict, a string or an Example, got {type(x).__name__}")
        missing = [f for f in fields if not dict(e.fields).get(f, "").strip()]
        if missing:
            raise PromptmineError(f"input {i} has no {', '.join(missing)} (the prompt's fields)")
        out.append(e)
    return out


# -- the scorer ----------------------------------------------------------------------------------------

def scorer_info(scorer, name: str | None = None, options: Mapping | None = None) -> ScorerInfo:
    """What a saved prompt records of the scorer it was chosen with (a CachedScorer or a backend):
    its registry name and the options it was built with, and its identity."""
    backend = getattr(scorer, "scorer", scorer)
    opts = getattr(backend, "options", None)
    given = dict(options or {})
    if isinstance(opts, BaseModel):
        given = {**opts.model_dump(mode="json", exclude_unset=True), **given}
    given.pop("cache", None)  # the command's --no-cache, not the model's
    for key, value in given.items():  # a local model folder or file: absolute, so predict finds it from anywhere
        if isinstance(value, str) and value and not value.startswith(("http:", "https:")) and Path(value).exists():
            given[key] = str(Path(value).resolve())
    name = name or getattr(type(backend), "name", None)
    if name == "backend":
        name = None
    return ScorerInfo(name=name, options=json.loads(json.dumps(given, default=str)), identity=scorer.identity,
                      description=getattr(scorer, "description", scorer.identity))


def open_scorer(saved: ScorerInfo, scorer=None, options: Mapping | None = None, *, cache: bool = True):
    """The scorer to apply a prompt with: `scorer` (an object, or a registry name with `options`), else
    the saved one rebuilt from its name and options. Another identity than the saved one (another
    model, precision or engine) is said on stderr; it still runs."""
    from promptmine.scoring import load_scorer

    if scorer is None:
        if not saved.name:
            raise PromptmineError("the prompt was chosen with a scorer built in code; give one (scorer=..., or "
                                  "--scorer and its flags)")
        scorer, options = saved.name, {**saved.options, **dict(options or {})}
    elif isinstance(scorer, str) and scorer == saved.name:
        options = {**saved.options, **dict(options or {})}
    loaded = load_scorer(scorer, dict(options or {}) if isinstance(scorer, str) else None, cache=cache)
    check_scorer(saved, loaded)
    return loaded


def check_scorer(saved: ScorerInfo, scorer) -> bool:
    """Whether `scorer` is the one the prompt was chosen with; a warning when not."""
    if not saved.identity or scorer.identity == saved.identity:
        return True
    warn(f"this prompt was chosen for {saved.description or saved.identity}; applying it with "
         f"{getattr(scorer, 'description', scorer.identity)} (another model, precision or engine: its accuracy may "
         f"differ from the report's)\n  chosen with: {saved.identity}\n  applied with: {scorer.identity}")
    return False


# -- relations ---------------------------------------------------------------------------------------

class RelationPrompts:
    """Several relations' saved prompts (a selections file): each input goes to its relation's."""

    def __init__(self, prompts: Sequence[RelationPrompt]):
        self.prompts = {p.relation: p for p in prompts}
        if len(self.prompts) < len(prompts):
            raise PromptmineError("more than one prompt per relation: choose a row (row=..., --row)")

    @property
    def kind(self) -> str:
        return "relation_selection"

    @property
    def readout(self) -> str:
        return RELATION_READOUT

    def prompt_for(self, relation: str | None) -> RelationPrompt:
        if relation in self.prompts:
            return self.prompts[relation]
        if relation is None and len(self.prompts) == 1:
            return next(iter(self.prompts.values()))
        if None in self.prompts:
            return self.prompts[None]
        known = ", ".join(str(r) for r in self.prompts)
        raise PromptmineError(f"no prompt for relation {relation}" if relation is not None else
                              f"the inputs name no relation and the prompts are for several ({known}): give "
                              "each input a `relation` or choose one (relation=..., --relation)")

    def predict(self, inputs, scorer=None, *, candidates=None, k: int = TOP_K, options: dict | None = None,
                cache: bool = True) -> list[dict]:
        """The top `k` candidate objects for each input subject: `inputs` a JSONL file (`subject` or
        `sub_label`, optional `relation`, optional `candidates` list) or plain text (one subject a line),
        or a list of such dicts or subject strings. Candidates: an input's own list, else `candidates`
        (a list, a file with one object a line, or a mapping relation -> list), else the saved prompt's.
        Records: `id`, the input's fields, `predictions` ([{object, score}], best first; `score` the
        combined log-probability)."""
        from promptmine.scoring import read_candidate_objects

        items = subject_inputs(inputs)
        if isinstance(candidates, (str, Path)):
            candidates = read_candidate_objects(str(candidates))
        loaded: dict[str, Any] = {}

        def scorer_of(p: RelationPrompt):
            key = p.scorer.identity
            if key not in loaded:
                loaded[key] = p.load_scorer(scorer, options, cache=cache)
            return loaded[key]

        groups: dict[tuple, list[int]] = {}
        for i, (_, rec) in enumerate(items):
            p = self.prompt_for(rec.get("relation"))
            cands = rec.get("candidates")
            if cands is None:
                cands = candidates.get(p.relation) if isinstance(candidates, Mapping) else candidates
            if cands is None:
                cands = p.candidates
            if not cands:
                raise PromptmineError(f"input {items[i][0]}: no candidate objects to rank (give `candidates` in the "
                                      "input, a candidates file, or facts of the relation)")
            groups.setdefault((p.relation, tuple(dict.fromkeys(cands))), []).append(i)
        out: list[dict | None] = [None] * len(items)
        for (relation, cands), idx in groups.items():
            p = self.prompt_for(relation)
            subjects = [items[i][1]["subject"] for i in idx]
            distinct = list(dict.fromkeys(subjects))
            m = p.scores(scorer_of(p), distinct, list(cands))
            row_of = {s: j for j, s in enumerate(distinct)}
            for i, s in zip(idx, subjects):
                row = m[row_of[s]]
                order = sorted(range(len(cands)), key=lambda c: -row[c])[:k]
                key, rec = items[i]
                out[i] = {"id": key, **{f: v for f, v in rec.items() if f != "candidates"},
                          "relation": rec.get("relation", p.relation),
                          "predictions": [{"object": cands[c], "score": float(row[c])} for c in order]}
        return [r for r in out if r is not None]


def subject_inputs(inputs) -> list[tuple[Any, dict]]:
    """(id, record with `subject`) per input: JSONL (`subject` or LAMA's `sub_label`), plain text (a
    subject a line), or a list of dicts or strings; ids are the `id` field, else the 0-based line."""
    from promptmine.core.io import iter_jsonl, iter_lines

    out = []
    if isinstance(inputs, (str, Path)):
        path = Path(inputs)
        if not path.is_file():
            raise InputError("no such file", path)
        if path.suffix in (".jsonl", ".json") or path.name.endswith(".jsonl.gz"):
            for lineno, obj in iter_jsonl(path):
                subject = obj.get("subject", obj.get("sub_label"))
                if not isinstance(subject, str) or not subject.strip():
                    raise InputError("missing or empty `subject`", path, lineno)
                cands = obj.get("candidates")
                if cands is not None and (not isinstance(cands, list) or not all(isinstance(c, str) for c in cands)):
                    raise InputError("`candidates` must be a list of strings", path, lineno)
                rec = {**obj, "subject": subject.strip()}
                rec.pop("sub_label", None)
                out.append((obj["id"] if _scalar(obj.get("id")) else lineno - 1, rec))
        else:
            out = [(lineno - 1, {"subject": line.strip()}) for lineno, line in iter_lines(path) if line.strip()]
        if not out:
            raise InputError("no subjects", path)
        return out
    for i, x in enumerate(inputs):
        rec = {"subject": x} if isinstance(x, str) else dict(x)
        if not isinstance(rec.get("subject"), str) or not rec["subject"].strip():
            raise PromptmineError(f"input {i} has no `subject`")
        out.append((rec["id"] if _scalar(rec.get("id")) else i, rec))
    return out


def _scalar(v) -> bool:
    return isinstance(v, (str, int, float)) and not isinstance(v, bool)


# -- loading -------------------------------------------------------------------------------------------

def load_prompt(path: str | Path, *, relation: str | None = None, row: str | None = None,
                pairs=None, candidates=None):
    """A saved prompt to apply to new inputs (`.predict(inputs)`): a saved-prompt file (`best_prompt.json`,
    an ensemble's file, a saved relation prompt), an older `best_prompt.json` (no `kind`), or a
    selections file (`selections.jsonl` of `run`, `select`'s output; `row`: which report row, by default
    the one `run` recommends from, or the only one; `relation`: keep one). `pairs` (a facts file or
    Pairs) gives each relation's candidate objects (its distinct objects); `candidates` one list for all."""
    p = Path(path)
    if not p.is_file():
        raise InputError("no such file", p)
    text = p.read_text(encoding="utf-8")
    obj = None
    if p.suffix == ".json":
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            raise InputError(f"malformed JSON ({e.msg})", p, e.lineno) from None
    if isinstance(obj, dict) and ("kind" in obj or "templates" not in obj):
        return parse_saved(obj, p)
    return relation_prompts(p, relation=relation, row=row, pairs=pairs, candidates=candidates)


def parse_saved(obj: dict, path: str | Path | None = None):
    """A SavedPrompt from its JSON object; a `best_prompt.json` written before the format had a `kind`
    (prompt, verbalisers, calibration, log_prior) reads as a task prompt of an unknown scorer."""
    if "kind" not in obj and {"prompt", "verbalisers"} <= set(obj):
        from promptmine.tasks.prompt import slots_of

        obj = {"kind": "task_prompt", "version": 0, "labels": list(obj["verbalisers"]),
               "fields": slots_of(obj["prompt"]), "scorer": {"identity": ""},
               **{k: obj[k] for k in ("prompt", "verbalisers", "calibration", "log_prior") if k in obj}}
    version = obj.get("version", VERSION)
    if isinstance(version, int) and version > VERSION:
        raise InputError(f"a saved prompt of version {version}; this promptmine reads up to version {VERSION}", path)
    try:
        return _ADAPTER.validate_python(obj)
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(x) for x in first["loc"]) or "file"
        raise InputError(f"not a saved prompt: {where}: {first['msg']}", path) from None


def relation_prompts(path: str | Path, *, relation: str | None = None, row: str | None = None, pairs=None,
                     candidates=None) -> RelationPrompts:
    """The relation prompts of a selections file: one per relation: `row`'s; by default each relation's
    only one (`run`'s recommended.jsonl, `select`'s output), else the row `run` recommends from."""
    from promptmine.core.io import read_records

    selections = read_records(path, Selection)
    if relation is not None:
        selections = [s for s in selections if s.relation == relation]
        if not selections:
            raise InputError(f"no selection for relation {relation}", path)
    rows = list(dict.fromkeys(s.row for s in selections))
    once = len({s.relation for s in selections}) == len(selections)  # recommended.jsonl, select's output
    if row is None and len(rows) > 1 and not once:
        from promptmine.report.relations import RECOMMEND_ROW

        if RECOMMEND_ROW not in rows:
            raise PromptmineError(f"{path}: several rows ({', '.join(map(str, rows))}); choose one (row=..., --row)")
        row = RECOMMEND_ROW
    if row is not None:
        selections = [s for s in selections if s.row == row]
        if not selections:
            raise PromptmineError(f"{path}: no row {row!r} (rows: {', '.join(map(str, rows))})")
    objects: dict[str | None, list[str]] = {}
    if pairs is not None:
        from promptmine.scoring import load_facts

        facts = load_facts(pairs, {s.relation for s in selections})
        objects = {rel: f.objects for rel, f in facts.items()}
    if isinstance(candidates, (str, Path)):
        from promptmine.scoring import read_candidate_objects

        candidates = read_candidate_objects(str(candidates))
    out = [RelationPrompt.of(s, candidates=candidates if candidates is not None else objects.get(s.relation),
                             selected_on=SelectedOn(examples=None, n_selection=s.facts)) for s in selections]
    log(f"{path}: {plural(len(out), 'relation prompt')}" + (f" (row {row})" if row else ""))
    return RelationPrompts(out)


def predict(prompt, inputs, *, scorer=None, options: dict | None = None, cache: bool = True, out=None,
            relation: str | None = None, row: str | None = None, pairs=None, candidates=None,
            k: int = TOP_K) -> list[dict]:
    """Apply a saved prompt (a path for `load_prompt`, or a loaded one) to `inputs` and write the records
    to `out` (JSONL, atomically; `-`: stdout; None: not written). Tasks: each input's `label` and
    `probabilities`; relations: each subject's top `k` of the candidates. With gold labels in the inputs
    (a task file's `label`), the accuracy is said on stderr."""
    from promptmine.core.io import write_jsonl

    saved = load_prompt(prompt, relation=relation, row=row, pairs=pairs,
                        candidates=candidates if not isinstance(candidates, Mapping) else None) \
        if isinstance(prompt, (str, Path)) else prompt
    if saved.kind == "relation_selection":
        records = saved.predict(inputs, scorer, candidates=candidates, k=k, options=options, cache=cache)
        log(f"predict: the top {k} of the candidates for {plural(len(records), 'subject')} (by the log-probability "
            "readout the prompts were chosen for, not generated answers)")
    else:
        records = saved.predict(inputs, scorer, options=options, cache=cache)
        gold = [r for r in records if "gold" in r]
        log(f"predict: {plural(len(records), 'label')} ({saved.kind.replace('_', ' ')}, read out by calibrated "
            "label-word log-probabilities, not generated answers)")
        if gold:
            right = sum(r["label"] == r["gold"] for r in gold)
            log(f"predict: accuracy {100 * right / len(gold):.1f} ({right} of {len(gold)} inputs with a gold label)")
    if out is not None:
        write_jsonl(out, records)
        if out != "-":
            log(f"wrote {plural(len(records), 'prediction')} to {out}")
    return records
