"""scripts/bench_gpu.py runs on CPU with tiny settings (it must run unchanged where a GPU is)."""

import runpy
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench_gpu.py"


def test_bench_gpu_runs_on_cpu(monkeypatch, capsys, tmp_path):
    out = tmp_path / "gpu.json"
    monkeypatch.setattr(sys, "argv", ["bench_gpu.py", "--device", "cpu", "--shapes", "tiny", "--batch-sizes", "16,auto",
                                      "--facts", "2", "--objects", "3", "--repeat", "1", "--json", str(out)])
    try:
        runpy.run_path(str(SCRIPT), run_name="__main__")
    except SystemExit as e:
        assert e.code == 0
    text = capsys.readouterr().out
    assert "NO GPU PRESENT" in text or "cuda" in text
    assert "max |d log-prob|" in text and out.is_file()
