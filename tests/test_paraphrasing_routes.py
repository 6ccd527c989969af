"""`promptmine.paraphrasing.routes`: one route grammar (`BACKEND:LANG`, a bare `LANG` for the chosen
backend, `auto`, `none`) on every command that takes routes (`--routes`, `--pivots` its alias), and
one opener that skips an unavailable route with a note."""

import logging

import pytest

from promptmine.cli import build_parser, main
from promptmine.core.errors import PromptmineError
from promptmine.models.translate import Hypothesis
from promptmine.paraphrasing import ParaphraseResult, format_routes, installed_routes, paraphrase, parse_routes

TEMPLATE = "[X] died in [Y] ."


def test_backend_lang_items_merge_per_backend_in_first_seen_order():
    assert parse_routes("bergamot:pt,apertium:es,bergamot:de") == [("bergamot", ["pt", "de"]), ("apertium", ["es"])]
    assert parse_routes(" bergamot:pt , apertium:es ") == [("bergamot", ["pt"]), ("apertium", ["es"])]
    assert format_routes(parse_routes("bergamot:pt,apertium:es,bergamot:de")) == "bergamot:pt,bergamot:de,apertium:es"
    assert format_routes([]) == "none"


def test_a_bare_language_is_a_pivot_of_the_chosen_backend():
    assert parse_routes("de,fr", backend="marian") == [("marian", ["de", "fr"])]
    assert parse_routes("de,bergamot:pt", backend="marian") == [("marian", ["de"]), ("bergamot", ["pt"])]
    with pytest.raises(PromptmineError, match="--pivots expects BACKEND:LANG items separated by commas, got 'de'"):
        parse_routes("bergamot:pt,de", flag="--pivots")
    for bad in ("bergamot:", ":pt", "bergamot:pt,,"):
        with pytest.raises(PromptmineError, match="BACKEND:LANG"):
            parse_routes(bad, backend="marian")


def test_auto_and_none():
    assert parse_routes("none") == [] and parse_routes("") == [] and parse_routes("NONE") == []
    assert parse_routes("auto") == installed_routes()


def test_routes_and_pivots_are_one_flag_on_every_command():
    parser = build_parser()
    for command in (["paraphrase", TEMPLATE], ["run"]):
        for flag in ("--routes", "--pivots"):
            assert parser.parse_args(command + [flag, "bergamot:pt,apertium:es"]).routes == "bergamot:pt,apertium:es"


def _capture(monkeypatch) -> dict:
    """Replace the library's paraphrase with one that records its arguments."""
    import promptmine.paraphrasing
    from promptmine.core.records import Candidate

    seen: dict = {}

    def fake(templates, **kwargs):
        seen.update(kwargs, templates=templates)
        cands = [[Candidate(relation=None, template=t, method="paraphrase", source=t),
                  Candidate(relation=None, template="[X] passed away in [Y] .", method="paraphrase", source=t,
                            pivot="pt")] for t in templates]
        return ParaphraseResult(cands, [], promptmine.paraphrasing.RoundTripStats(inputs=1, kept=1))

    monkeypatch.setattr(promptmine.paraphrasing, "paraphrase", fake)
    return seen


def test_paraphrase_routes_of_several_backends_go_to_the_library_together(monkeypatch, capsys):
    seen = _capture(monkeypatch)
    assert main(["paraphrase", TEMPLATE, "--routes", "bergamot:pt,apertium:es", "--threads", "2"]) == 0
    assert seen["routes"] == [("bergamot", ["pt"]), ("apertium", ["es"])] and seen["pivots"] is None
    # each route backend takes the flags its Options has
    assert seen["options"]["bergamot"] == {"threads": 2} and "threads" not in seen["options"]["apertium"]


def test_paraphrase_bare_pivots_stay_one_backend(monkeypatch, capsys):
    seen = _capture(monkeypatch)
    assert main(["paraphrase", TEMPLATE, "--backend", "bergamot", "--pivots", "pt"]) == 0
    assert (seen["backend"], seen["pivots"], seen["routes"]) == ("bergamot", ["pt"], None)
    assert main(["paraphrase", TEMPLATE, "--routes", "bergamot:pt"]) == 0  # one backend named in a route
    assert (seen["backend"], seen["pivots"], seen["routes"]) == ("bergamot", ["pt"], None)


def test_paraphrase_checks_every_route_before_any_work(monkeypatch, capsys):
    _capture(monkeypatch)
    assert main(["paraphrase", TEMPLATE, "--routes", "bergamot:pt,apertium:xx"]) == 1
    err = capsys.readouterr().err
    assert "--routes: apertium has no pivot xx" in err and "bergamot (pt" in err
    assert main(["paraphrase", TEMPLATE, "--routes", "none"]) == 1
    assert "no route to paraphrase through" in capsys.readouterr().err


def test_run_needs_a_backend_for_each_language(tmp_path, capsys):
    assert main(["run", "--routes", "de", "--out", str(tmp_path / "r")]) == 1
    assert "expects BACKEND:LANG items separated by commas, got 'de'" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


class Rewriter:
    """A translator that rewrites `died` through its pivot `xx` (no model)."""

    name, identity, placeholder_styles = "rewriter", "rewriter-1", ("brackets",)

    def supports(self, src, tgt):
        return {src, tgt} == {"en", "xx"}

    def translate(self, texts, src, tgt, n=1):
        swap = ("died", "DIED") if tgt == "xx" else ("DIED", "passed away")
        return [[Hypothesis(t.replace(*swap), None)] for t in texts]


def test_the_library_opens_routes_with_the_one_opener(caplog):
    with caplog.at_level(logging.INFO, logger="promptmine"):
        result = paraphrase([TEMPLATE], routes=[(Rewriter(), ["xx"]), ("nosuch", ["de"])], cache=False)
    assert [c.template for c in result.candidates[0]] == ["[X] died in [Y].", "[X] passed away in [Y]."]
    assert "nosuch (de) unavailable, skipped" in caplog.text
    with pytest.raises(PromptmineError, match="none of the routes nosuch:de is usable here"):
        paraphrase([TEMPLATE], routes="nosuch:de", cache=False)
