"""Bundled sample corpus and pairs (written for this project) and readers' fixtures."""

from pathlib import Path

CORPORA_DIR = Path(__file__).resolve().parent
SAMPLE_RELATIONS = CORPORA_DIR / "sample_relations.jsonl"  # the default relations of `run`
SAMPLE_PAIRS = CORPORA_DIR / "sample_pairs.jsonl"  # the default facts of `mine` and `run`
SAMPLE_CORPUS = CORPORA_DIR / "sample_corpus.txt"  # the default corpus of `mine` (`run` mines every sample_corpus*.txt)
