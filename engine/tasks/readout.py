"""From a model's scores of label words to a prediction: which words stand for each label, and how
the label scores are calibrated.

A label's score is the log-sum-exp of its words' log-probabilities after the prompt; the labels'
scores are normalised into a distribution p(y | x). Small models lean towards one label whatever the
input (SmolLM2-135M answers `Positive` for 200 of 200 SST-2 reviews zero-shot), so the bias is removed
(Zhao et al. 2021, "Calibrate Before Use"; Yang et al. 2024, calibration by marginalisation):

- `raw`: p(y | x) as it is;
- `contextual`: p(y | x) / p(y | content-free input), the content-free inputs (`N/A`, the empty string,
  `[MASK]`) put in every slot and their distributions averaged;
- `marginal`: p(y | x) / mean over unlabelled inputs x' of p(y | x'), the inputs being the selection
  split's texts (never the held-out ones); also what domain-conditional PMI estimates.

Each is renormalised, and which one a prompt uses is chosen on the selection split like any other part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

CALIBRATIONS = ("raw", "contextual", "marginal")
CONTENT_FREE = ("N/A", "", "[MASK]")


@dataclass(frozen=True)
class Readout:
    """Label words (per label, in label order) and the calibration applied to their scores."""

    words: tuple[tuple[str, ...], ...]
    calibration: str = "raw"

    @property
    def columns(self) -> list[str]:
        return list(dict.fromkeys(w for ws in self.words for w in ws))

    def describe(self, labels: Sequence[str]) -> str:
        return ", ".join(f"{lab} -> {' | '.join(ws)}" for lab, ws in zip(labels, self.words)) + \
            f"; calibration {self.calibration}"


def label_logprobs(word_scores, columns: Sequence[str], words: Sequence[Sequence[str]]):
    """[examples, labels] log p(y | x), normalised over labels, from [examples, columns] word scores
    (a label with several words: the log-sum-exp of theirs)."""
    import numpy as np

    from promptmine.scoring import FLOOR

    m = np.maximum(np.asarray(word_scores, dtype=np.float64), FLOOR)
    col = {w: j for j, w in enumerate(columns)}
    labels = np.stack([_lse(m[:, [col[w] for w in ws]], axis=1) for ws in words], axis=1) if len(m) else \
        np.zeros((0, len(words)))
    return labels - _lse(labels, axis=1)[:, None] if len(m) else labels


def _lse(a, axis):
    import numpy as np

    top = a.max(axis=axis, keepdims=True)
    return (top + np.log(np.exp(a - top).sum(axis=axis, keepdims=True))).squeeze(axis)


def bias(logp):
    """log of the mean distribution of some rows of log p(y | x) (the content-free or marginal prior)."""
    import numpy as np

    logp = np.asarray(logp, dtype=np.float64)
    return _lse(logp, axis=0) - np.log(max(1, len(logp)))


def calibrate(logp, prior=None):
    """log p(y | x) / prior(y), renormalised; `prior` None leaves the rows as they are."""
    if prior is None:
        return logp
    out = logp - prior[None, :]
    return out - _lse(out, axis=1)[:, None]


def word_forms(word: str) -> list[str]:
    """A label word and its casing forms (`Positive`, `positive`, `POSITIVE`)."""
    return list(dict.fromkeys([word, word.lower(), word[:1].upper() + word[1:].lower(), word.upper()]))


def propose_words(word_logprobs, vocabulary: Sequence[str], gold: Sequence[int], n_labels: int, *,
                  per_label: int = 3, exclude: Sequence[str] = ()) -> list[list[str]]:
    """Per label, the words the model already prefers for that label's examples (LM-BFF's automatic
    label words, Gao et al. 2021): ranked by their mean log-probability over the label's examples
    minus the mean over the others, among words that are likelier for this label than for any other.
    `word_logprobs`: [examples, vocabulary] next-word log-probabilities after the prompt."""
    import numpy as np

    m = np.asarray(word_logprobs, dtype=np.float64)
    g = np.asarray(gold)
    taken = set(exclude)
    means = np.stack([m[g == c].mean(axis=0) if (g == c).any() else np.full(m.shape[1], -np.inf)
                      for c in range(n_labels)])
    out = []
    for c in range(n_labels):
        others = np.delete(means, c, axis=0)
        margin = means[c] - others.max(axis=0)
        # likely for this label, and more so than for any other label
        order = np.argsort(-(means[c] + margin))
        chosen = []
        for j in order:
            if margin[j] <= 0:
                continue
            w = vocabulary[j]
            if w.lower() in taken:
                continue
            chosen.append(w)
            taken.add(w.lower())
            if len(chosen) == per_label:
                break
        out.append(chosen)
    return out
