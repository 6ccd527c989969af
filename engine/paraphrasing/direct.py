"""Direct paraphrasers (`promptmine.models.translate.PARAPHRASERS`, e.g. a hosted chat model): rewrites
of a template without a pivot, kept when they have `[X]` and `[Y]` once each."""

from __future__ import annotations

from collections.abc import Sequence

from promptmine.core.progress import log, plural
from promptmine.core.records import Candidate, check_template, normalize_text, template_key
from promptmine.core.settings import take
from promptmine.paraphrasing.roundtrip import RoundTripStats
from promptmine.paraphrasing.settings import ParaphraseSettings
from promptmine.paraphrasing.slots import slot_counts


def paraphrase_direct(templates: list[str], paraphraser, settings: ParaphraseSettings | None = None, *,
                      relations: Sequence[str | None] | None = None, stats: RoundTripStats | None = None,
                      **fields) -> list[list[Candidate]]:
    """Paraphrase with a models.translate.Paraphraser (no pivot): original first, then up to
    `settings.top`, from max(`beams`, `top`) rewrites asked for each (fields also as keywords)."""
    [settings] = take(fields, (ParaphraseSettings, settings), who="paraphrase_direct")
    n, top = max(settings.beams, settings.top), settings.top
    for t in templates:
        check_template(t)
    stats = stats if stats is not None else RoundTripStats()
    stats.inputs += len(templates)
    results = paraphraser.paraphrase(templates, n)
    out = []
    for i, (template, hyps) in enumerate(zip(templates, results)):
        rel = relations[i] if relations else None
        original = normalize_text(template)
        seen = {template_key(original)}
        kept = []
        for order, h in enumerate(hyps):
            stats.round_trips += 1
            cand = normalize_text(h.text)
            if slot_counts(cand) != (1, 1):
                stats.dropped += 1
                continue
            if template_key(cand) not in seen:
                seen.add(template_key(cand))
                kept.append((h.logprob, order, cand))
        if kept and all(k[0] is not None for k in kept):
            kept.sort(key=lambda k: (-k[0], k[1]))
        stats.kept += len(kept)
        cands = [Candidate(relation=rel, template=original, method="paraphrase", source=template,
                           backend=paraphraser.name)]
        cands += [Candidate(relation=rel, template=c, method="paraphrase", source=template,
                            backend=paraphraser.name, score=lp) for lp, _, c in kept[:top]]
        out.append(cands)
    if stats.dropped:
        log(f"paraphrase: dropped {stats.dropped:,} of {plural(stats.round_trips, 'paraphrase')} that lost or "
            f"duplicated a slot ([X]/[Y])")
    return out
