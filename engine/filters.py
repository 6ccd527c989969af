"""Which mined templates are phrasings of a relation, not accidents of the sentences they came from.

Pure functions of a template's text and its support (distinct pairs), so they apply to any miner's
output and to counts merged from shards. Each filter removes what a linguist would not call a
phrasing of the relation:

- `function_words`: no content word at all (`[X] is in the [Y].`): only determiners, prepositions,
  pronouns, auxiliaries and conjunctions link the slots, so nothing says which relation it is;
- `fillers`: a word that belongs to the facts it was seen with, not to the relation: a date, a
  month, a number, or a name (a capitalised word that does not start the sentence), e.g.
  `[X] July [Y].`, `[X] Hiroshi born in [Y].`, `[X] is the third album by [Y].`, `[X] is a
  Scottish-born [Y].`, or what a dropped date or gloss left behind (`[X] born is a [Y].`,
  `[X] translates is an autobahn in [Y].`);
- `support`: seen with fewer than `min_pairs` distinct (subject, object) pairs.

Variants of one phrasing (spacing, punctuation, the determiner before a slot) are merged before
filtering under `promptmine.core.records.template_key`; `display_order` picks the form shown.

Both features judge candidates with these word classes: mining ranks with the filters above, and
`hygiene` (below) drops mined and paraphrased candidates alike (`promptmine.paraphrasing.pool`,
`promptmine.pipeline`). So this module sits beside the `mining` and `paraphrasing` packages, not in
one of them: neither feature imports the other.
"""

from __future__ import annotations

import re

from promptmine.core.records import X, Y

MIN_PAIRS = 2
# Filter names in the order they are tried; a template removed by one is counted under that one only.
FILTERS = ("function_words", "fillers", "support")

# Closed-class English words: none of them says which relation links [X] and [Y].
FUNCTION_WORDS = frozenset("""
a an the this that these those some any each every all both either neither no another other such
its his her their our my your whose which who whom what where when why how whoever whatever there here
it he she they we i you him them us me one ones itself himself herself themselves
of in on at by for with from to into onto upon as about above over under below between among amongst
after before during since until till through throughout within without against near off out up down
via per than like unlike along across around behind beyond toward towards despite except plus
and or but nor so yet if while whereas although though because unless whether then also too either
not n't no never very just only even still ever already again more most less least much many few
be is are was were been being am 's has have had having do does did doing done
will would shall should can could may might must ought 'd 'll 're 've
""".split())

MONTHS = frozenset("january february march april may june july august september october november "
                   "december jan feb mar apr jun jul aug sep sept oct nov dec".split())
# Counts and ranks that belong to one fact (`the third studio album by`); `one` stays (`one of the`).
NUMBER_WORDS = frozenset("""
two three four five six seven eight nine ten eleven twelve twenty thirty hundred thousand million billion
first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth
""".split())
# What a dropped parenthetical leaves before the main verb: `[X] (born 4 May 1930) is a [Y]` ->
# `[X] born is a [Y]`; `[X] (German: ..., translates as ...) is an autobahn` -> `[X] translates is`.
_REMNANT = re.compile(r"\b(?:born|died|translates?|translated|means|meaning|literally|lit)\s+(?:is|was|are|were)\b",
                      re.IGNORECASE)

# Slots, words (with inner hyphens/apostrophes), the possessive/clitic forms ('s, n't), sentence ends.
_TOKEN = re.compile(r"\[X\]|\[Y\]|n't|'[a-z]+|[^\W_]+(?:[-'\u2019][^\W_]+)*|[.!?]", re.IGNORECASE)


def words(template: str) -> list[tuple[str, bool]]:
    """(word, starts a sentence) for each word of the template other than the slots."""
    out, initial = [], True
    for tok in _TOKEN.findall(template):
        if tok in (X, Y):
            initial = False
        elif tok in ".!?":
            initial = True
        else:
            out.append((tok, initial))
            initial = False
    return out


def is_content_word(word: str) -> bool:
    return word.lower() not in FUNCTION_WORDS


def is_filler(word: str, initial: bool) -> bool:
    """A word that names something specific to a fact: a date or number (any digit, a number word),
    a month, or a name (a capitalised word inside a sentence; `I` excepted)."""
    if any(ch.isdigit() for ch in word) or word.lower() in NUMBER_WORDS:
        return True
    if word[:1].isupper() and word.lower() in MONTHS and word.lower() != "may":
        return True
    return not initial and word[:1].isupper() and word != "I"


def rejection(template: str, pairs: int, *, min_pairs: int = MIN_PAIRS) -> str | None:
    """The name (one of FILTERS) of the first filter that removes the template, or None to keep it."""
    ws = words(template)
    if not any(is_content_word(w) for w, _ in ws):
        return "function_words"
    if any(is_filler(w, initial) for w, initial in ws) or _REMNANT.search(template):
        return "fillers"
    if pairs < min_pairs:
        return "support"
    return None


def display_order(template: str) -> tuple[int, int]:
    """Among variants of one phrasing, which form to show (smaller first): the written form of a
    hyphenated word (`co-founded` over `co founded`, which a parser's path can leave) and a final
    full stop; support decides among the rest."""
    return (-template.count("-"), 0 if template.rstrip()[-1:] in ".!?" else 1)


# -- candidate hygiene: what no relation's prompt should look like ----------------------------------
# Applied to every mined and paraphrased candidate before selection (`hygiene`), relative to the
# relation's manual template (and, for a paraphrase, the text it was translated from). Each check
# names a way a round trip or a parse produces a prompt that asks something else:
#
# - `tautology`: the [Y] side repeats the [X] side (`The capital of [X] is the capital of [Y].`):
#   the words right before (or after) one slot are the words right before (after) the other;
# - `role_swap`: the slots trade roles: the candidate with [X] and [Y] swapped is the manual
#   template, or the manual's possessor (`capital of [X]`, `[X]'s`) is the other slot in the
#   candidate (`[X] is the capital of [Y].`, `[X] is the official tongue of [Y].` for P36/P37);
# - `negation`: `not`, `n't`, `never` or `no` that the manual template (and the source) lack;
# - `fragment`: a word piece left dangling by a hyphen (`[Y] co- [X].` from "co-founded"), a word
#   doubled (`[X] and and [Y].`), or no word of three letters or more.
#
# Determiners next to a slot are not a reason to drop anything: `[X] lies on [Y].` and `[X] lies on
# the [Y].` fill differently ("Paris lies on Seine." vs "... on the Seine."), the scorer tells them
# apart, so both stay candidates and selection picks (`pipeline.Pool.dedupe` keeps them apart).
HYGIENE = ("tautology", "role_swap", "negation", "fragment")

NEGATIONS = frozenset(("not", "n't", "never", "no"))
_DANGLING = re.compile(r"(?:^|\s)-[^\W\d_]+|[^\W\d_]+-(?=\s|$|[.,;:!?])")
_DOUBLED = re.compile(r"\b([^\W\d_]+)\s+\1\b", re.IGNORECASE)  # `[X] and and [Y]`: a word the translator doubled
_POSSESSOR = re.compile(r"\bof\s+(?:(?:the|a|an)\s+)?(\[[XY]\])|(\[[XY]\])\s*'s?(?![a-z])", re.IGNORECASE)


def _swap(template: str) -> str:
    return template.replace(X, "\x00").replace(Y, X).replace("\x00", Y)


def _side_words(template: str, slot: str, before: bool, n: int) -> tuple[str, ...]:
    """The `n` words right before (or after) `slot`, lower-cased, determiners left out; the other
    slot counts as a word, so `[X] of [Y]` compares nothing across it."""
    i = template.index(slot)
    side = template[:i] if before else template[i + len(slot):]
    toks = [t.lower() for t in _TOKEN.findall(side) if t not in ".!?"]
    toks = [t for t in toks if t not in ("the", "a", "an")]
    return tuple(toks[-n:] if before else toks[:n])


def is_tautology(template: str) -> bool:
    """The words around [Y] repeat those around [X]: two or more words, one of them a content word,
    right before both slots or right after both."""
    for before in (True, False):
        for n in (3, 2):
            wx, wy = _side_words(template, X, before, n), _side_words(template, Y, before, n)
            if len(wx) == n and wx == wy and X not in wx and Y not in wx and any(
                    is_content_word(w) for w in wx):
                return True
    return False


def possessors(template: str) -> set[str]:
    """The slots marked as a possessor: `of [S]` (`of the [S]`) or `[S]'s`."""
    return {m.group(1) or m.group(2) for m in _POSSESSOR.finditer(template)}


def is_role_swap(template: str, manual: str) -> bool:
    from promptmine.core.records import template_key

    if template_key(_swap(template)) == template_key(manual):
        return True
    own, theirs = possessors(template), possessors(manual)
    return len(theirs) == 1 and len(own) == 1 and own != theirs


def negations(template: str) -> set[str]:
    """The negation words of a template, `n't` counted as `not`."""
    found = {w.lower() for w, _ in words(template) if w.lower() in NEGATIONS}
    if re.search(r"n't\b", template, re.IGNORECASE):
        found.add("not")
    return found - {"n't"}


def is_fragment(template: str) -> bool:
    text = template.replace(X, " ").replace(Y, " ")
    if _DANGLING.search(text) or _DOUBLED.search(template):  # (a slot between two words breaks a double)
        return True
    return not any(sum(ch.isalpha() for ch in w) >= 3 for w, _ in words(template))


def hygiene(template: str, manual: str, source: str | None = None) -> str | None:
    """The name (one of HYGIENE) of the first check the candidate fails, or None to keep it.
    `manual`: the relation's template; `source`: what a paraphrase was translated from (its
    negations are allowed too). The manual template itself always passes."""
    from promptmine.core.records import template_key

    if template_key(template) == template_key(manual) or template.split() == manual.split():
        return None
    if is_tautology(template) and not is_tautology(manual):
        return "tautology"
    if is_role_swap(template, manual):
        return "role_swap"
    if negations(template) - negations(manual) - (negations(source) if source else set()):
        return "negation"
    if is_fragment(template):
        return "fragment"
    return None
