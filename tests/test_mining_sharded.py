"""Sharded, resumable mining: same output for 1 or N workers as the serial miner, resume after a
failure processes only the remaining shards, the corpus is streamed, bad input is reported."""

from __future__ import annotations

import gzip
import json
import os
from collections import Counter

import pytest

from promptmine.core.errors import InputError, PromptmineError
from promptmine.mining import MiningSettings, mine
from promptmine.sharding import (Shard, ShardFailed, ShardSettings, WorkDir, iter_shards, make_manifest, read_shard,
                                 run_files, run_local)
from promptmine.testing.mining import FACTS, PAIRS, FailOnShard, counts, make_corpus, rows


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def serial(corpus):
    return mine([str(p) for p in corpus], PAIRS)


def test_shards_are_deterministic_line_ranges_and_workers_can_read_them(tmp_path):
    plain = tmp_path / "x.txt"
    plain.write_bytes(b"".join(f"line {i}\n".encode() for i in range(1, 26)))
    gz = tmp_path / "y.txt.gz"
    with gzip.open(gz, "wb") as f:
        f.write(b"".join(f"g{i}\n".encode() for i in range(1, 8)))
    shards = list(iter_shards([plain, gz], shard_lines=10))
    assert [(s.file_index, s.start, s.stop) for s, _ in shards] == [(0, 1, 11), (0, 11, 21), (0, 21, 26), (1, 1, 8)]
    assert [s.id for s, _ in shards][:2] == ["00000-0000000001-0000000010", "00000-0000000011-0000000020"]
    assert shards[3][0].offset is None and shards[1][0].offset == len(b"".join(f"line {i}\n".encode() for i in range(1, 11)))
    for shard, lines in shards:  # what a Ray actor reads by itself is what the stream gave
        assert read_shard(shard) == lines
    plan = [s for s, lines in iter_shards([plain, gz], shard_lines=10, with_lines=False)]
    assert plan == [s for s, _ in shards]


def test_sharded_mining_equals_serial_for_1_and_2_workers(corpus, serial, tmp_path):
    assert serial.stats["skipped_lines"] == 3 and serial.stats["sentences_matched"] > 0
    one = mine(corpus, PAIRS, work_dir=tmp_path / "w1", workers=1, shard_lines=4)
    rep1 = one.shards
    two = mine(corpus, PAIRS, work_dir=tmp_path / "w2", workers=2, shard_lines=4)
    rep2 = two.shards
    assert rows(one) == rows(serial) == rows(two)
    assert counts(one) == counts(serial) == counts(two)
    assert rep1.shards_total == rep2.shards_total == 7 + 3 + 3  # 27 + 11 + 11 lines in shards of 4
    assert rep2.shards_processed == rep2.shards_total and rep2.lines_processed == 27 + 11 + 11
    assert len(list((tmp_path / "w2").glob("*.pkl"))) == rep2.shards_total


def test_interrupted_run_resumes_only_the_remaining_shards(corpus, serial, tmp_path):
    work = tmp_path / "out.jsonl.shards"
    failing = FailOnShard(PAIRS, MiningSettings(methods=("middle", "dependency")), fail_start=9)
    with pytest.raises(ShardFailed, match=r"shard 00000-0000000009-0000000012 .*rerun with --resume"):
        run_files(failing, corpus, ShardSettings(work_dir=work, workers=2, shard_lines=4))
    done_before = {p.stem for p in work.glob("*.pkl")}
    assert "00000-0000000009-0000000012" not in done_before and done_before

    result = mine(corpus, PAIRS, work_dir=work, workers=2, shard_lines=4, resume=True)
    report = result.shards
    assert rows(result) == rows(serial) and counts(result) == counts(serial)
    assert report.shards_skipped == len(done_before)
    assert set(report.processed_ids) == {s.id for s, _ in iter_shards(corpus, 4)} - done_before
    assert "00000-0000000009-0000000012" in report.processed_ids
    assert f"{report.shards_processed} processed now" in report.summary()
    assert f"{len(done_before)} resumed from earlier results" in report.summary()

    again = mine(corpus, PAIRS, work_dir=work, workers=1, shard_lines=4, resume=True, top=2)
    report = again.shards
    assert report.shards_processed == 0 and report.shards_skipped == report.shards_total
    assert all(len(c) <= 2 for c in again.candidates.values())  # --top applies at the merge


def test_resume_refuses_results_made_with_other_settings(corpus, tmp_path):
    work = tmp_path / "w"
    mine(corpus[:1], PAIRS, work_dir=work, shard_lines=8, methods=("middle",))
    with pytest.raises(PromptmineError, match=r"cannot resume .* different job settings \(pairs\)"):
        mine(corpus[:1], PAIRS[:3], work_dir=work, shard_lines=8, methods=("middle",), resume=True)
    with pytest.raises(PromptmineError, match="different shard_lines"):
        mine(corpus[:1], PAIRS, work_dir=work, shard_lines=5, methods=("middle",), resume=True)
    # Without --resume the old results are discarded and everything is recomputed.
    report = mine(corpus[:1], PAIRS[:3], work_dir=work, shard_lines=8, methods=("middle",)).shards
    assert report.shards_skipped == 0 and report.shards_processed == report.shards_total


def test_strict_names_the_bad_line(corpus, tmp_path):
    with pytest.raises(InputError, match=r"a\.txt:27: undecodable bytes"):
        mine(corpus, PAIRS, work_dir=tmp_path / "w", shard_lines=4, strict=True, methods=("middle",))


class LineLengths:
    """A minimal job for the runner's own properties: the length of every line, merged in order."""

    def fingerprint(self):
        return {"job": "lengths"}

    def setup(self):
        pass

    def process(self, shard, lines):
        return Counter(len(line) for line in lines)

    def merge(self, partials):
        total = Counter()
        for p in partials:
            total.update(p)
        return total


def test_the_stream_is_consumed_as_shards_finish_not_materialised(tmp_path):
    work = WorkDir(tmp_path / "w")
    ahead: list[int] = []

    def stream():
        for i in range(40):
            done = len(list(work.path.glob("*.pkl"))) if work.path.exists() else 0
            ahead.append(i - done)  # shards handed out but not finished yet
            yield Shard(0, "gen", 1 + i * 100, 101 + i * 100), [b"x" * (i % 7)] * 100

    result, report = run_local(LineLengths(), stream(), work.path, workers=2, max_in_flight=3)
    assert report.shards_total == report.shards_processed == 40 and report.lines_processed == 4000
    assert result == Counter({n: 100 * len(range(n, 40, 7)) for n in range(7)})
    assert max(ahead) <= 4  # at most max_in_flight (+ the one being handed out) ahead of the results


def test_manifest_tracks_inputs(tmp_path):
    f = tmp_path / "a.txt"
    f.write_text("one\n", encoding="utf-8")
    m1 = make_manifest(LineLengths(), [f], 10)
    f.write_text("one\ntwo\n", encoding="utf-8")
    os.utime(f, ns=(1, 1))
    assert make_manifest(LineLengths(), [f], 10)["inputs"] != m1["inputs"]


def test_cli_resume_reports_what_was_processed(corpus, tmp_path, capsys):
    from promptmine.cli import main

    out = tmp_path / "mined.jsonl"
    base = ["mine", "--corpus", *map(str, corpus), "--pairs", str(tmp_path / "pairs.tsv"), "--shard-lines", "10",
            "--methods", "middle"]
    (tmp_path / "pairs.tsv").write_text("".join(f"{p.subject}\t{p.object}\t{p.relation}\n" for p in PAIRS),
                                        encoding="utf-8")
    assert main(base + ["--out", str(tmp_path / "plain.jsonl")]) == 0
    assert main(base + ["--out", str(out), "--resume"]) == 0
    first = capsys.readouterr().err
    assert "7 shards (49 lines): 7 processed now" in first and f"{out}.shards" in first
    (out.parent / (out.name + ".shards") / "00002-0000000001-0000000010.pkl").unlink()
    assert main(base + ["--out", str(out), "--resume"]) == 0
    second = capsys.readouterr().err
    assert "7 shards (49 lines): 1 processed now (10 lines" in second and "6 resumed from earlier results (39 lines)" in second
    assert out.read_text() == (tmp_path / "plain.jsonl").read_text() != ""
    assert main(base + ["--resume"]) == 1  # to stdout: nowhere to keep shard results
    assert "--resume needs --out" in capsys.readouterr().err


def test_a_worker_that_cannot_load_its_model_says_why(corpus, tmp_path):
    from promptmine.core.errors import ModelNotAvailable

    with pytest.raises(ModelNotAvailable, match="no_such_spacy_model"):
        mine(corpus, PAIRS, work_dir=tmp_path / "w", workers=2, shard_lines=10,
                     spacy_model="no_such_spacy_model")


def test_a_killed_run_resumes_from_the_shards_it_finished(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    corpus = tmp_path / "facts.txt"
    corpus.write_text("".join(f"{FACTS[i % len(FACTS)]}\n" for i in range(600)), encoding="utf-8")
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("".join(f"{p.subject}\t{p.object}\t{p.relation}\n" for p in PAIRS), encoding="utf-8")
    out = tmp_path / "mined.jsonl"
    work = tmp_path / "mined.jsonl.shards"
    cmd = [sys.executable, "-m", "promptmine.cli", "mine", "--corpus", str(corpus), "--pairs", str(pairs),
           "--out", str(out), "--resume", "--shard-lines", "20"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while len(list(work.glob("*.pkl"))) < 3 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = {p.stem for p in work.glob("*.pkl")}
    if len(done) == 30:
        pytest.skip("the run finished before it could be killed")
    assert len(done) >= 3 and not out.exists()  # killed: no output file, finished shards kept

    done_result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done_result.returncode == 0, done_result.stderr
    assert (f"30 shards (600 lines): {30 - len(done)} processed now ({(30 - len(done)) * 20:,} lines"
            in done_result.stderr)
    assert f"{len(done)} resumed from earlier results ({len(done) * 20:,} lines)" in done_result.stderr
    assert not list(work.glob(".*.tmp"))

    assert out.read_text(encoding="utf-8") == "".join(
        json.dumps(c.to_json(), ensure_ascii=False) + "\n"
        for cands in mine([corpus], PAIRS).candidates.values() for c in cands)


def test_a_script_without_a_main_guard_is_told_why_its_workers_died(tmp_path):
    """Worker processes import the calling script again; without `if __name__ == "__main__":` it mines
    again in each of them and they die. The pool only says it broke: the error says what to change."""
    import subprocess
    import sys

    corpus = tmp_path / "facts.txt"
    corpus.write_text("".join(f"{FACTS[i % len(FACTS)]}\n" for i in range(40)), encoding="utf-8")
    script = tmp_path / "unguarded.py"
    script.write_text(
        "from promptmine.mining import mine\n"
        "from promptmine.testing.mining import PAIRS\n"
        f"mine({str(corpus)!r}, PAIRS, methods=['middle'], workers=2, shard_lines=10,\n"
        f"     work_dir={str(tmp_path / 'w')!r})\n",
        encoding="utf-8")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode != 0
    assert "BrokenProcessPool" in done.stderr and 'if __name__ == "__main__":' in done.stderr
