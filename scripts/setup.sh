#!/usr/bin/env bash
# Set up (or refresh) the virtual environment from the lock files. Idempotent and quick when
# nothing changed. `scripts/setup.sh --test` adds what the test suite needs: the
# sentence-transformers backend (CPU torch) and Debian's chromium for the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check "uv==0.13.9"
UV=".venv/bin/uv"
"$UV" pip install --quiet --python .venv/bin/python -r requirements.lock
"$UV" pip install --quiet --python .venv/bin/python --no-deps -e .

# FreeDict's Danish-English dictionaries (Debian packages) bridge everyday words between the
# languages (assistant/lexicon.py). Unpacked into the venv, so no root is needed; the
# assistant falls back to its glossary alone, with a warning, when they cannot be had.
DICTS=.venv/share/dictd
if [ ! -f "$DICTS/freedict-dan-eng.index" ] || [ ! -f "$DICTS/freedict-eng-dan.index" ]; then
  fetch_dicts() {
    local tmp
    tmp=$(mktemp -d)
    (cd "$tmp" && apt-get download -qq dict-freedict-dan-eng dict-freedict-eng-dan >/dev/null 2>&1) \
      && for deb in "$tmp"/*.deb; do dpkg-deb -x "$deb" "$tmp/x"; done \
      && mkdir -p "$DICTS" && cp "$tmp"/x/usr/share/dictd/freedict-* "$DICTS"/
    local rc=$?
    rm -rf "$tmp"
    return $rc
  }
  if ! fetch_dicts && [ "$(id -u)" = "0" ]; then
    apt-get update -qq >/dev/null 2>&1 && fetch_dicts || true
  fi
  [ -f "$DICTS/freedict-dan-eng.index" ] \
    || echo "warning: FreeDict dictionaries unavailable; only the glossary bridges da/en" >&2
fi

if [ "${1:-}" = "--test" ]; then
  # pip, not uv: pip finds the local CPU build of torch; uv would download a CUDA one.
  if ! .venv/bin/python -c "import torch" 2>/dev/null; then
    .venv/bin/python -m pip install --quiet --disable-pip-version-check "torch==2.13.0"
  fi
  "$UV" pip install --quiet --python .venv/bin/python -r requirements-st.txt
  if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = "0" ]; then
      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
        >/dev/null || echo "warning: could not install chromium; browser tests will be skipped" >&2
    else
      echo "warning: chromium missing and not root; browser tests will be skipped" >&2
    fi
  fi
  # axe-core (npm) for the accessibility checks in the browser tests; kept inside .venv.
  if [ ! -f .venv/axe/node_modules/axe-core/axe.min.js ]; then
    if command -v npm >/dev/null 2>&1; then
      npm install --silent --no-audit --no-fund --prefix .venv/axe axe-core@4.14.1 >/dev/null \
        || echo "warning: could not install axe-core; the accessibility test will be skipped" >&2
    else
      echo "warning: npm missing; the accessibility test will be skipped" >&2
    fi
  fi
fi
