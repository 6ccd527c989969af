"""The mined-template filters and the one normal form of candidates (`template_key`)."""

import pytest

from promptmine.core.records import template_key
from promptmine.filters import FILTERS, display_order, is_filler, rejection, words


@pytest.mark.parametrize("a, b", [
    ("The capital of [X] is [Y] .", "The capital of [X] is [Y]."),  # spacing before the full stop
    ("The capital of [X] is [Y].", "the capital of [X] is [Y]"),  # final full stop, first letter's case
    ("[X] co founded [Y].", "[X] co-founded [Y]."),  # a hyphen the parser's path dropped
    ("[X] co - founded [Y] .", "[X] co-founded [Y]."),
    ("[X] is a member of the [Y].", "[X] is a member of [Y]."),  # the determiner of the slot's filler
    ("[X] is an [Y] by profession.", "[X] is a [Y] by profession."),  # a/an agree with the filler
    ("[X]\u2019s capital is [Y].", "[X]'s capital is [Y]."),  # curly apostrophe
    ("[X], born in [Y].", "[X] born in [Y]."),  # a comma
    ('"[X]" is a song by [Y].', "[X] is a song by [Y]."),  # quotes
    ("[X] Was born in [Y].", "[X] was born in [Y]."),  # letter case (a rule-based translator's capital)
])
def test_normal_form_merges_spacing_punctuation_and_slot_determiner_variants(a, b):
    assert template_key(a) == template_key(b)


@pytest.mark.parametrize("a, b", [
    ("[X] was born in [Y].", "[X] was born at [Y]."),  # another word
    ("[X] was born in [Y].", "[Y] was born in [X]."),  # slots swapped
    ("[X] is the capital of [Y].", "[X] is capital of [Y]."),  # a determiner not before a slot
    ("[X] is a [Y].", "[X] is [Y]."),  # an article that is there or not
    ("[X] plays [Y].", "[X] played [Y]."),  # tense
    ("[X] died in [Y].", "[X] died in [Y] in 1990."),  # more words
])
def test_normal_form_keeps_everything_else_apart(a, b):
    assert template_key(a) != template_key(b)


def test_words_know_slots_and_sentence_starts():
    assert words("The capital of [X] is [Y].") == [("The", True), ("capital", False), ("of", False), ("is", False)]
    assert words("[X]'s co-founder is [Y].") == [("'s", False), ("co-founder", False), ("is", False)]


@pytest.mark.parametrize("template", [
    "[X] is in the [Y].", "[X] and [Y].", "[Y] of [X].", "[X] has been one of the [Y].", "[X] near [Y]."])
def test_no_content_word_is_removed(template):
    assert rejection(template, 10) == "function_words"


@pytest.mark.parametrize("template", [
    "[X] July [Y].",  # a month
    "[X] Hiroshi born in [Y].",  # a name inside the sentence
    "[X] died in 1990 in [Y].",  # a year
    "[X] is the third studio album by [Y].",  # a number word
    "[X] is a Scottish-born [Y].",  # a capitalised (hyphenated) word
    "July [X] was born in [Y].",  # a month that starts the sentence
    "[X] born is a [Y].",  # what a dropped `(born 4 May 1930)` leaves
    "[X] translates is an autobahn in [Y].",  # ... and a dropped gloss `(German: ..., translates as ...)`
])
def test_fillers_that_belong_to_one_fact_are_removed(template):
    assert rejection(template, 10) == "fillers"


@pytest.mark.parametrize("template", [
    "The capital of [X] is [Y].",  # capitalised only because it starts the sentence
    "[X] was born in [Y].", "[X] is one of the founders of [Y].", "[X] may refer to [Y].",
    "[X]'s capital is [Y].", "[X] co-founded [Y].", "Developed by [X] and published by [Y].",
])
def test_phrasings_are_kept(template):
    assert rejection(template, 2) is None


def test_minimum_support_in_distinct_pairs():
    assert rejection("[X] was born in [Y].", 1) == "support"
    assert rejection("[X] was born in [Y].", 1, min_pairs=1) is None
    assert rejection("[X] was born in [Y].", 4, min_pairs=5) == "support"
    assert rejection("[X] July [Y].", 1) == "fillers"  # counted under the first filter that removes it
    assert FILTERS == ("function_words", "fillers", "support")


def test_is_filler():
    assert is_filler("1990s", False) and is_filler("Paris", False) and not is_filler("The", True)
    assert not is_filler("I", False) and not is_filler("born", False) and is_filler("June", True)
    assert not is_filler("May", True)  # a sentence-initial modal as often as the month


def test_display_prefers_the_written_form():
    forms = ["[X] co founded [Y].", "[X] co-founded [Y].", "[X] co-founded [Y]"]
    assert min(forms, key=display_order) == "[X] co-founded [Y]."


# -- candidate hygiene (issue 18) -----------------------------------------------------------------
from promptmine.filters import HYGIENE, hygiene  # noqa: E402

P36, P37 = "The capital of [X] is [Y] .", "The official language of [X] is [Y] ."


@pytest.mark.parametrize("template, manual, reason", [
    ("The capital of [X] is the capital of [Y].", P36, "tautology"),
    ("The official tongue of [X] is the official tongue of [Y].", P37, "tautology"),
    ("[X] is the capital of [Y].", P36, "role_swap"),  # possessor moved from [X] to [Y]
    ("[X] is the official tongue of [Y].", P37, "role_swap"),
    ("[Y] was born in [X].", "[X] was born in [Y] .", "role_swap"),  # the manual with slots swapped
    ("[X] is located not [Y] river.", "[X] is located in [Y] .", "negation"),
    ("[X] is not located a river [Y].", "[X] is located in [Y] .", "negation"),
    ("[X] never joined [Y].", "[X] is a member of [Y] .", "negation"),
    ("[Y] co- [X].", "[X] co-founded [Y] .", "fragment"),
    ("[X] of [Y].", "[X] is part of [Y] .", "fragment"),
    ("[X] and and subclass of [Y].", "[X] is a subclass of [Y] .", "fragment"),
])
def test_hygiene_names_why_a_candidate_goes(template, manual, reason):
    assert reason in HYGIENE
    assert hygiene(template, manual) == reason


@pytest.mark.parametrize("template, manual", [
    ("[Y] is the capital of [X].", P36),  # the right roles, said the other way round
    ("[X]'s capital is [Y].", P36),
    ("[Y] is the capital and largest city of [X].", P36),
    ("[X] co-founded [Y].", "[X] co-founded [Y] ."),
    ("[X] joined [Y].", "[X] is a member of [Y] ."),
    ("[X] is a citizen of [Y].", "[X] is [Y] citizen ."),
    ("[X] was born in [Y].", "[X] was born in [Y] ."),  # a spacing variant of the manual
    ("[X] does not have [Y].", "[X] does not have [Y] ."),  # a negation the manual has
    ("[X] lies on the [Y].", "[X] lies on [Y] ."),  # a determiner before a slot: the scorer decides
    ("[X] is [Y] is a member.", "[X] is a member of [Y] ."),  # `is [Y] is`: no doubled word
])
def test_hygiene_keeps_real_phrasings(template, manual):
    assert hygiene(template, manual) is None


def test_a_negation_in_the_source_is_allowed():
    assert hygiene("[X] isn't part of [Y].", "[X] is part of [Y] .", source="[X] is not part of [Y].") is None
    assert hygiene("[X] isn't part of [Y].", "[X] is part of [Y] .") == "negation"
