"""Notes and progress go through the `promptmine` logger: visible in logs, silenced by quiet."""

import logging
import re

import pytest

from promptmine.core import progress as pm


@pytest.fixture
def app_logging(monkeypatch):
    """configure_logging as the app calls it, undone afterwards (handler, level, third-party env)."""
    for key in pm._THIRD_PARTY_ENV:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.delenv("PROMPTMINE_PROGRESS", raising=False)
    monkeypatch.setattr(pm, "LOG_EVERY", 0.0)  # a line at every update
    monkeypatch.setattr(pm, "_USER_ENV", set())
    level = pm.LOGGER.level
    yield pm.configure_logging
    for h in [h for h in pm.LOGGER.handlers if isinstance(h, pm._StderrHandler)]:
        pm.LOGGER.removeHandler(h)
    pm.LOGGER.setLevel(level)
    logging.getLogger("ray").setLevel(logging.NOTSET)


def test_progress_logs_lines_with_done_total_and_rate_when_not_a_terminal(app_logging, capsys):
    app_logging(0)
    for _ in pm.progress(range(4), desc="scoring", unit="template"):
        pass
    err = capsys.readouterr().err
    assert re.search(r"scoring: 2/4 \(50%\), [\d.,]+ template/s", err), err
    assert "scoring: done, 4 in" in err


def test_progress_bar_api_used_by_callers(app_logging, capsys):
    app_logging(0)
    with pm.progress(desc="mining", total=10, unit="sent") as bar:
        bar.update(3)
        bar.total += 5
        bar.set_postfix(matched=2, refresh=False)
        bar.refresh()
        bar.update(4)
    err = capsys.readouterr().err
    assert "mining: 3/10 (30%)" in err and "matched=2" in err
    assert "mining: 7/15 (47%)" in err and "left" in err


def test_quiet_silences_info_and_progress_but_not_warnings(app_logging, capsys):
    app_logging(-1)
    pm.log("a note")
    for _ in pm.progress(range(3), desc="quietwork"):
        pass
    pm.warn("a problem")
    err = capsys.readouterr().err
    assert "a note" not in err and "quietwork" not in err
    assert "warning: a problem" in err
    import os

    assert os.environ["TRANSFORMERS_VERBOSITY"] == "error"
    assert os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] == "1"
    assert logging.getLogger("ray").level == logging.ERROR


def test_verbose_shows_debug_and_stage(app_logging, capsys):
    app_logging(1)
    pm.debug("detail")
    pm.stage("paraphrase", 2, 5)
    err = capsys.readouterr().err
    assert "detail" in err and "stage 2/5: paraphrase" in err
    app_logging(0)  # a second call replaces the first: one handler, info level
    pm.debug("hidden detail")
    pm.log("once")
    err = capsys.readouterr().err
    assert "hidden detail" not in err and err.count("once") == 1


def test_library_user_gets_standard_logging(caplog):
    """Without configure_logging the notes are plain logging records a user can capture or silence."""
    with caplog.at_level(logging.INFO, logger="promptmine"):
        pm.log("for the user's handler")
    assert [r.getMessage() for r in caplog.records if r.name == "promptmine"] == ["for the user's handler"]


def test_plural():
    assert pm.plural(1, "file") == "1 file"
    assert pm.plural(0, "file") == "0 files"
    assert pm.plural(2, "paraphrase") == "2 paraphrases"
    assert pm.plural(1204, "query", "queries") == "1,204 queries"
