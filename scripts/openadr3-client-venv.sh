#!/usr/bin/env bash
# A side virtual environment with the ElaadNL `openadr3-client` (a third-party OpenADR 3 client; it needs
# Python >= 3.12, the project itself runs on 3.11). Used by tests/aggregator/openadr/test_third_party_client.py.
#   bash scripts/openadr3-client-venv.sh [DIR]    prints the venv's python on its last line; exit 3 when no
#                                                 Python >= 3.12 is found (the test then skips, saying so)
set -euo pipefail
DIR="${1:-.venv-openadr3-client}"
PIN="openadr3-client==2.4.2"

find_python() {
  for cand in "${OPENADR3_CLIENT_PYTHON:-}" python3.13 python3.12 \
      /root/.pyenv/versions/3.12*/bin/python3 /root/.pyenv/versions/3.13*/bin/python3 \
      "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[23]*/bin/python3; do
    [ -n "$cand" ] || continue
    if command -v "$cand" >/dev/null 2>&1 && \
       "$cand" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
      command -v "$cand"; return 0
    fi
  done
  return 1
}

if [ -x "$DIR/bin/python" ] && [ -f "$DIR/.installed" ] && [ "$(cat "$DIR/.installed")" = "$PIN" ]; then
  echo "$DIR/bin/python"; exit 0
fi
if ! PY=$(find_python); then
  echo "no Python >= 3.12 found (tried python3.13, python3.12 and pyenv's versions; set OPENADR3_CLIENT_PYTHON)" >&2
  exit 3
fi
rm -rf "$DIR"
"$PY" -m venv "$DIR"
"$DIR/bin/python" -m pip install -q --disable-pip-version-check "$PIN" >&2
echo "$PIN" > "$DIR/.installed"
echo "$DIR/bin/python"
