"""The relation search: stages that each vary one dimension of a relation's prompt, starting from the
manual one, and a selection that keeps the incumbent unless it is clearly beaten.

Stages (`STAGES`, in this order):
- `wording`: the manual template against mined and paraphrased ones (`compare`'s race), after
  `screen` dropped the candidates that hygiene (`promptmine.filters.hygiene`: an added negation, a
  role swap, ...) or the fluency check (`fluency`: parsed, no verb where the manual template has
  one, e.g. `[Y] silver and [X].`, or ending on an auxiliary, `Born in [Y] [X] was.`) finds broken;
- `format`: the text after [Y] (` .`, `.`, none) and the spacing before the final full stop;
- `demos`: k training facts written with the incumbent's template before it (one a line, or
  separated by spaces), drawn from training facts the race never scores, so a demonstration is never
  the query's own fact; which facts, how many, their order and the separator are the candidates;
- `start` (with demonstrations, when the wording stage replaced the manual prompt): format and
  demonstrations are searched from the manual prompt too, and the wording winner's path must beat the
  manual one's (`search_after_wording`);
- `calibration`: raw log-probabilities, or calibrated ones (the same prompt with a content-free
  subject subtracted, `promptmine.scoring.CalibratedScorer`).

Each stage races its candidates with the incumbent protected (`Race(..., protect=)`), and the best
survivor replaces the incumbent only when its paired advantage on the shared training facts is clearly
above zero (`racing.advantage`: mean - z * standard error > 0, on the race's per-fact metric); ties
and small edges keep the incumbent, so a prompt the training facts cannot tell apart from the user's
never replaces it.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from pydantic import Field

from promptmine.core.progress import log
from promptmine.core.records import Template
from promptmine.core.settings import Settings
from promptmine.scoring import RelationFacts, calibrated, score_templates
from promptmine.selection.racing import Exhaustive, Race, RaceResult, advantage

STAGES = ("wording", "format", "demos", "calibration")


class SearchSettings(Settings):
    """How a relation's prompt is searched beyond its wording (`compare`, `run`, bench_lpaqa)."""

    dimensions: tuple[str, ...] = Field(STAGES, description="relation stages to search, in this order")
    z: float = Field(1.645, ge=0, description="a candidate replaces the incumbent when its paired advantage on "
                                              "training facts is above zero by z standard errors")
    shots: tuple[int, ...] = Field((1, 3, 5), description="demonstration counts tried")
    draws: int = Field(4, ge=1, description="samples of training facts tried as the 3-fact demonstrations")
    fillers: tuple[str, ...] = Field(("N/A",), description="content-free subjects of the calibration stage")
    # 2 runners-up measured on bench_lpaqa: +25.3% against +24.7% with none, for 3.5x the scoring
    starts: int = Field(0, ge=0, description="runners-up of the wording race also searched with format and "
                                             "demonstrations, beside the winner and the manual prompt")
    # a half measured on bench_lpaqa: all stages +32.6% against +24.7% with a quarter (twice the later stages' pairs)
    stage_share: float = Field(0.5, gt=0, description="each later stage (format, demonstrations, start) gets "
                                                       "this share of the wording race's budget")


@dataclass(frozen=True)
class RelationVariant:
    """A relation's prompt as the search varies it: the template, the demonstrations written with it
    before the query (`sep` between them), and the content-free fillers of a calibrated readout."""

    template: str
    demos: tuple[tuple[str, str], ...] = ()
    sep: str = "\n"
    calibration: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The template the scorer reads: the demonstrations filled in, then the query's template."""
        if not self.demos:
            return self.template
        t = Template(text=self.template)
        return self.sep.join([t.fill(s, o) for s, o in self.demos] + [self.template])

    def with_(self, **changes) -> RelationVariant:
        return replace(self, **changes)


@dataclass
class StageOutcome:
    """What one stage did for a relation: candidates, the best challenger, its paired advantage over
    the incumbent on the shared training facts, and whether it replaced the incumbent."""

    stage: str
    candidates: int
    before: str
    after: str
    change: str = ""  # what the winner changed ("" when the incumbent stayed)
    challenger: str | None = None
    mean: float = 0.0
    lower: float = float("-inf")
    facts: int = 0

    @property
    def replaced(self) -> bool:
        return self.after != self.before

    def describe(self) -> str:
        if self.challenger is None:
            return f"{self.stage}: no candidate"
        verdict = f"replaced ({self.change})" if self.replaced else "kept the incumbent"
        return (f"{self.stage}: {verdict}; best challenger {self.mean:+.3f} per fact, lower bound "
                f"{self.lower:+.3f}, on {self.facts} facts ({self.candidates} candidates)")


@dataclass
class RelationSearch:
    """A relation's search: the prompt it ended with and each stage's outcome."""

    relation: str | None
    prompt: RelationVariant
    stages: list[StageOutcome] = field(default_factory=list)

    @property
    def changes(self) -> list[str]:
        return [s.change for s in self.stages if s.replaced]


def decide(stage: str, result: RaceResult, incumbent: str, candidates: int, z: float, metric: str,
           among: Sequence[str] | None = None) -> StageOutcome:
    """The stage's verdict from a race: the best survivor other than the incumbent (among `among` when
    given) replaces it only when clearly better on the shared facts."""
    base = next(s for s in result.survivors if s.template == incumbent)
    pool = None if among is None else set(among)
    best = next((s for s in result.survivors if s.template != incumbent and (pool is None or s.template in pool)),
                None)
    if best is None:
        return StageOutcome(stage, candidates, incumbent, incumbent, facts=result.facts)
    mean, lower = advantage(best.ranks, base.ranks, z=z, metric=metric)
    after = best.template if lower > 0 else incumbent
    return StageOutcome(stage, candidates, incumbent, after, f"{stage}: {after}" if lower > 0 else "",
                        challenger=best.template, mean=mean, lower=lower, facts=result.facts)


def race_stage(stage: str, scorer, incumbent: RelationVariant, proposals: Sequence[tuple[RelationVariant, str]],
               blocks, strategy, *, z: float, seed: int, desc: str) -> tuple[RelationVariant, StageOutcome]:
    """Race the incumbent and its `proposals` ((prompt, what changed)); the winner and the outcome."""
    by_text = {incumbent.text: (incumbent, "")}
    for p, change in proposals:
        by_text.setdefault(p.text, (p, change))
    if len(by_text) == 1:
        return incumbent, StageOutcome(stage, 0, incumbent.text, incumbent.text)
    result = strategy.run(scorer, list(by_text), blocks, seed=seed, keep=1, protect=[incumbent.text], desc=desc)
    out = decide(stage, result, incumbent.text, len(by_text) - 1, z, strategy.metric)
    winner, change = by_text[out.after]
    out.change = change
    return winner, out


# -- candidates of each stage -------------------------------------------------------------------------

_TAIL = re.compile(r"\s*([.!?])\s*$")


def format_variants(template: str) -> list[tuple[str, str]]:
    """The template with its final full stop spaced (` .`), attached (`.`) or left out; (template,
    what changed)."""
    m = _TAIL.search(template)
    body = template[:m.start()] if m else template.rstrip()
    mark = m.group(1) if m else "."
    forms = {f"{body} {mark}": f"final '{mark}' spaced", f"{body}{mark}": f"final '{mark}' attached",
             body: "no final punctuation"}
    return [(t, what) for t, what in forms.items() if t != template and body.strip()]


def demo_variants(prompt: RelationVariant, pool: Sequence[tuple[str, str]], settings: SearchSettings,
                  seed: int, relation: str | None) -> list[tuple[RelationVariant, str]]:
    """Demonstrations from `pool` ((subject, object) training facts no race scores): for each count of
    `settings.shots` the first draw, one a line; `settings.draws` - 1 other draws of three facts; the
    first three-fact draw reversed and separated by spaces. Facts of a draw have distinct subjects
    and, where the pool allows, distinct objects (so no object is favoured by repetition)."""
    rng = random.Random(f"{seed}:{relation}:demos")
    facts = list(dict.fromkeys(pool))
    rng.shuffle(facts)

    def draw(k: int, skip: set) -> tuple[tuple[str, str], ...]:
        out, subjects, objects = [], set(), set()
        for strict in (True, False):
            for s, o in facts:
                if len(out) == k:
                    break
                if (s, o) in skip or s in subjects or (strict and o in objects):
                    continue
                out.append((s, o))
                subjects.add(s)
                objects.add(o)
        return tuple(out) if len(out) == k else ()

    out = []
    first: dict[int, tuple] = {}
    for k in settings.shots:
        d = draw(k, set())
        if d:
            first[k] = d
            out.append((prompt.with_(demos=d, sep="\n"), f"{k} demonstration{'s' * (k != 1)}, one a line"))
    used: set = set(first.get(3, ()))
    for i in range(1, settings.draws):
        d = draw(3, used)
        if d:
            used |= set(d)
            out.append((prompt.with_(demos=d, sep="\n"), f"3 demonstrations, one a line (draw {i + 1})"))
    if 3 in first:
        out.append((prompt.with_(demos=first[3][::-1], sep=" "), "3 demonstrations, separated by spaces"))
    return out


def reserve_demos(blocks: Sequence[RelationFacts], n: int, *, avoid: set[str] = frozenset(), per_object: int = 2
                  ) -> tuple[list[tuple[str, str]], list[RelationFacts]]:
    """(`n` training facts whose subject is not in `avoid` (the test facts' subjects) as the
    demonstration pool, the blocks without every fact whose subject is in that pool): neither the race
    nor the evaluation scores a fact whose subject a demonstration shows.

    The pool holds typical facts: those of the relation's most frequent objects in the training facts
    (at most `per_object` each, the last in the training order first). A demonstration is meant to
    show the relation, and one with a rare object (`Osteoblast known as Slc17a2.`) shows an outlier."""
    from collections import Counter

    facts = [(s, b.objects[g]) for b in blocks for s, g in zip(b.subjects, b.gold)]
    freq = Counter(o for _, o in facts)
    by_object: dict[str, list[tuple[str, str]]] = {}
    for f in reversed(facts):
        if f[0] not in avoid and len(by_object.setdefault(f[1], [])) < per_object:
            by_object[f[1]].append(f)
    ranked = sorted(by_object, key=lambda o: -freq[o])  # stable: ties keep the latest-first order
    pool = [f for o in ranked for f in by_object[o]][:n] if n else []
    taken = {s for s, _ in pool}
    rest = []
    for b in blocks:
        keep = [i for i, s in enumerate(b.subjects) if s not in taken]
        if keep:
            rest.append(RelationFacts(b.relation, [b.subjects[i] for i in keep], [b.gold[i] for i in keep],
                                      b.objects, b.dropped))
    return pool, rest


# -- screening: broken candidates are dropped before any race ----------------------------------------

FILL = {"[X]": "Anna", "[Y]": "Berlin"}  # stand-in names the fluency check parses the template with


def fluency(template: str, manual: str) -> str | None:
    """Why a template does not read as a sentence, or None: parsed with stand-in names (spaCy's
    tagger and parser), it has no verb where the manual template has one (`[Y] silver and [X].`,
    `Music of [Y] of games of [X].`), or it ends on an auxiliary (`Born in [Y] [X] was.`)."""
    from promptmine.models.parser import load_parser

    nlp = load_parser(tags=True)

    def doc(t: str):
        for slot, name in FILL.items():
            t = t.replace(slot, name)
        return nlp(t)

    def has_verb(d) -> bool:
        return any(w.pos_ in ("VERB", "AUX") for w in d)

    d = doc(template)
    content = [w for w in d if not w.is_punct]
    if content and content[-1].pos_ == "AUX":
        return "fluency: ends on an auxiliary"
    if not has_verb(d) and has_verb(doc(manual)):
        return "fluency: no verb"
    return None


def screen(manual: str, templates: Sequence[str], *, sources: dict[str, str] | None = None) -> dict[str, str]:
    """The candidates dropped before selection, with why: hygiene's checks (an added negation, a role
    swap, a tautology, a fragment) and the `fluency` check. The manual template always stays."""
    from promptmine.filters import hygiene

    dropped: dict[str, str] = {}
    for t in templates:
        if t == manual:
            continue
        why = hygiene(t, manual, (sources or {}).get(t)) or fluency(t, manual)
        if why:
            dropped[t] = why
    return dropped


# -- the later stages, from the wording stage's winner ------------------------------------------------

def calibration_stage(scorer, incumbent: RelationVariant, blocks: Sequence[RelationFacts], facts: int,
                      settings: SearchSettings, metric: str) -> tuple[RelationVariant, StageOutcome]:
    """Raw against calibrated scores of the incumbent on its first `facts` training facts."""
    used, n = [], 0
    for b in blocks:
        if n >= facts:
            break
        used.append(b)
        n += b.n
    if not used:
        return incumbent, StageOutcome("calibration", 0, incumbent.text, incumbent.text)
    jobs = [(incumbent.text, b) for b in used]
    raw = [r for s in score_templates(scorer, jobs) for r in s.ranks]
    cal = [r for s in score_templates(calibrated(scorer, settings.fillers), jobs) for r in s.ranks]
    mean, lower = advantage(cal, raw, z=settings.z, metric=metric)
    label = f"calibrated ({'|'.join(settings.fillers)})"
    out = StageOutcome("calibration", 1, incumbent.text, incumbent.text, challenger=label, mean=mean, lower=lower,
                       facts=len(raw))
    if lower > 0:
        out.change = label
        out.after = incumbent.text + " [calibrated]"
        return incumbent.with_(calibration=tuple(settings.fillers)), out
    return incumbent, out


def stage_strategy(strategy, share: float):
    """A later stage's strategy: a Race gets `share` of the wording race's budget (at least two blocks'
    worth per candidate is not promised: the race drops the weakest first); Exhaustive stays."""
    if isinstance(strategy, Race) and strategy.budget is not None:
        return replace(strategy, budget=max(1, int(strategy.budget * share)))
    return strategy


def search_after_wording(scorer, relation: str | None, start: RelationVariant, blocks: Sequence[RelationFacts],
                         demo_pool: Sequence[tuple[str, str]], strategy: Race | Exhaustive,
                         settings: SearchSettings, *, seed: int, demos: bool,
                         wording: StageOutcome | None = None, manual: RelationVariant | None = None,
                         others: Sequence[RelationVariant] = ()) -> RelationSearch:
    """From the wording stage's winner `start`: format, then demonstrations (when `demos` and asked for),
    then calibration, each as asked for in `settings.dimensions`.

    With `manual` (the user's prompt), format and demonstrations are searched from it, from `start`
    and from `others` (the wording race's runners-up), and another path's end replaces the manual
    one's only when clearly better (the `start` stage): the wording stage judged them without
    demonstrations, and a wording that wins alone need not win once all show the relation's facts."""
    later = stage_strategy(strategy, settings.stage_share)
    facts_seen = wording.facts if wording else 0

    def path(prompt: RelationVariant) -> tuple[RelationVariant, list[StageOutcome]]:
        outs = []
        for dim in settings.dimensions:
            if dim == "format":
                proposals = [(prompt.with_(template=t), what) for t, what in format_variants(prompt.template)]
                prompt, out = race_stage("format", scorer, prompt, proposals, blocks, later, z=settings.z, seed=seed,
                                         desc=f"format {relation}")
            elif dim == "demos" and demos:
                proposals = demo_variants(prompt, demo_pool, settings, seed, relation)
                prompt, out = race_stage("demos", scorer, prompt, proposals, blocks, later, z=settings.z, seed=seed,
                                         desc=f"demonstrations {relation}")
            else:
                continue
            outs.append(out)
        return prompt, outs

    prompt, outs = path(start)
    stages = ([wording] if wording else []) + outs
    if manual is not None:
        # every start's path: (end, its stages, what it is); the manual prompt's path is the incumbent
        paths = {start.text: (prompt, stages, "the wording winner's path")}
        for other in [manual, *others]:
            if other.text not in paths:
                end, o = path(other)
                paths[other.text] = (end, o, f"the path from the wording runner-up {other.template!r}")
        base_end, base_stages, _ = paths[manual.text]
        ends = [(end, label) for key, (end, _, label) in paths.items() if key != manual.text]
        winner, out = race_stage("start", scorer, base_end, ends, blocks, later, z=settings.z, seed=seed,
                                 desc=f"start {relation}")
        chosen = next(st for end, st, _ in paths.values() if end.text == winner.text)
        stages = (base_stages if winner.text == base_end.text else chosen) + ([out] if out.candidates else [])
        prompt = winner
    for out in stages:
        facts_seen = max(facts_seen, out.facts)
    found = RelationSearch(relation, prompt, stages)
    if "calibration" in settings.dimensions:
        prompt, out = calibration_stage(scorer, prompt, blocks, max(facts_seen, 60), settings, strategy.metric)
        found.stages.append(out)
    found.prompt = prompt
    log(f"search {relation}: " + ("; ".join(found.changes) or "kept the prompt") + f" -> {prompt.text!r}"
        + (" (calibrated)" if prompt.calibration else ""))
    return found
