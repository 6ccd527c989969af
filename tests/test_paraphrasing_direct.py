"""Direct paraphrasers (`promptmine.paraphrasing.direct`): no pivot, slots checked, ranked."""

from promptmine.paraphrasing import RoundTripStats, paraphrase_direct
from promptmine.models.translate import Hypothesis


class ListParaphraser:
    """A Paraphraser whose answers are given: checks what the pipeline does with any paraphraser's output."""

    name = "listed"
    identity = "listed"

    def __init__(self, answers):
        self.answers = answers

    def paraphrase(self, texts, n):
        return [self.answers[t][:n] for t in texts]


def test_direct_mode_dedupes_drops_and_ranks():
    para = ListParaphraser({"[X] died in [Y] .": [
        Hypothesis("[X] passed away in [Y].", -1.5), Hypothesis("[X] died in [Y].", -0.1),
        Hypothesis("[X] lost his life in.", -0.2), Hypothesis("[X] passed away in [Y] .", -1.0),
        Hypothesis("In [Y], [X] died.", -0.5)]})
    stats = RoundTripStats()
    (cands,) = paraphrase_direct(["[X] died in [Y] ."], para, top=10, stats=stats)
    assert [c.template for c in cands] == ["[X] died in [Y].", "In [Y], [X] died.", "[X] passed away in [Y]."]
    assert stats.dropped == 1 and cands[1].score == -0.5 and cands[1].pivot is None
