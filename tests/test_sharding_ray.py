"""The Ray Data engine on a local Ray instance: same output as the local runner, resumable."""

from __future__ import annotations

import pytest

from promptmine.mining import mine
from promptmine.testing.mining import PAIRS, FailOnShard, counts, make_corpus, rows

# Gentle on a small machine: 2 CPUs, a small object store, no dashboard.
RAY_INIT = {"num_cpus": 2, "object_store_memory": 100 * 2**20, "include_dashboard": False}


@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'promptmine[ray]')")
    try:
        ray.init(**RAY_INIT, log_to_driver=False, configure_logging=False)
    except Exception as e:  # e.g. no shared memory or sockets in a sandbox
        pytest.skip(f"a local Ray instance cannot start here: {type(e).__name__}: {e}")
    yield ray
    ray.shutdown()


def test_ray_gives_the_local_output_and_resumes(ray_local, tmp_path):
    corpus = make_corpus(tmp_path / "corpus")
    local = mine(corpus, PAIRS, work_dir=tmp_path / "local", workers=1, shard_lines=6)
    work = tmp_path / "ray"
    result = mine(corpus, PAIRS, work_dir=work, workers=2, shard_lines=6, engine="ray", address="local")
    report = result.shards
    assert report.engine == "ray" and report.shards_processed == report.shards_total == 5 + 2 + 2
    assert rows(result) == rows(local) and counts(result) == counts(local)
    assert ray_local.is_initialized()  # an instance the caller started is left running

    lost = sorted(work.glob("*.pkl"))[1]
    lost.unlink()  # as if the run had stopped before this shard
    again = mine(corpus, PAIRS, work_dir=work, workers=2, shard_lines=6, engine="ray", resume=True)
    report = again.shards
    assert report.processed_ids == [lost.stem] and report.shards_skipped == report.shards_total - 1
    assert rows(again) == rows(local)


def test_a_failing_shard_on_ray_keeps_the_others_for_resume(ray_local, tmp_path):
    from promptmine.mining.corpus import corpus_files
    from promptmine.mining.settings import MiningSettings
    from promptmine.sharding import ShardFailed, ShardSettings, run_files

    corpus = corpus_files(make_corpus(tmp_path / "corpus"))
    work = tmp_path / "ray"
    job = FailOnShard(PAIRS, MiningSettings(methods=("middle",)), fail_start=7)
    with pytest.raises(ShardFailed, match=r"1 shard failed on Ray; first: shard 00000-0000000007-0000000012 "
                                          r".*RuntimeError: worker lost.*rerun with --resume"):
        run_files(job, corpus, ShardSettings(work_dir=work, workers=2, shard_lines=6, engine="ray"))
    assert len(list(work.glob("*.pkl"))) == 5 + 2 + 2 - 1

