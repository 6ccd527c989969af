"""Bundled sample corpus and pairs (written for this project) and readers' fixtures."""

from pathlib import Path

CORPORA_DIR = Path(__file__).resolve().parent
