"""The multi-pattern matcher: one pass, whole words, case and spelling-variant folding."""

import pickle

from promptmine.mining.match import Matcher, MatchSettings


def found(m: Matcher, text: str) -> list[str]:
    return [text[x.start:x.end] for x in m.find(text)]


def test_finds_all_strings_in_one_pass_whole_word_only():
    m = Matcher(["Paris", "New York", "York", "C++"])
    text = "Paris, Parisian and New York; Yorkshire and C++ code"
    assert found(m, text) == ["Paris", "New York", "York", "C++"]
    # keys identify which string matched
    assert [m.keys[x.key] for x in m.find(text)] == ["paris", "new york", "york", "c++"]


def test_case_insensitive_by_default_and_case_sensitive_on_request():
    text = "PARIS is big; paris is old."
    assert found(Matcher(["Paris"]), text) == ["PARIS", "paris"]
    assert found(Matcher(["Paris"], MatchSettings(case_sensitive=True)), text) == []
    assert found(Matcher(["paris"], MatchSettings(case_sensitive=True)), text) == ["paris"]


def test_folds_accents_dashes_quotes_and_spaces_but_keeps_offsets():
    m = Matcher(["São Paulo", "Stratford-upon-Avon", "O'Brien", "New York"])
    text = "İstanbul, Sao Paulo, Stratford\u2013upon\u2013Avon, O\u2019Brien and New\u00a0York."
    assert found(m, text) == ["Sao Paulo", "Stratford\u2013upon\u2013Avon", "O\u2019Brien", "New\u00a0York"]
    # 'İ'.lower() has two characters: folding must not shift later offsets
    assert m.fold(text).__len__() == len(text)


def test_no_folding_when_fold_is_off():
    m = Matcher(["São Paulo"], MatchSettings(case_sensitive=True, fold=False))
    assert found(m, "Sao Paulo and São Paulo") == ["São Paulo"]


def test_strings_that_fold_alike_share_a_key_and_blank_strings_are_ignored():
    m = Matcher(["Paris", "PARIS", "  ", ""])
    assert len(m.keys) == 1
    assert m.key("paris") == m.key("Paris") == 0
    assert m.key("Rome") is None


def test_empty_matcher_and_strings_added_later():
    m = Matcher([])
    assert m.find("anything") == []
    m.add("Rome")
    assert found(m, "Rome and Milan") == ["Rome"]
    m.add("Milan")  # the automaton is rebuilt after additions
    assert found(m, "Rome and Milan") == ["Rome", "Milan"]


def test_matcher_survives_pickling_for_worker_processes():
    m = Matcher(["Paris", "São Paulo"])
    m.find("warm up")
    m2 = pickle.loads(pickle.dumps(m))
    assert found(m2, "sao paulo and PARIS") == ["sao paulo", "PARIS"]
