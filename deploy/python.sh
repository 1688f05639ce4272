#!/usr/bin/env bash
# Ensures uv is installed and the workspace virtualenv (.venv) matches uv.lock.
set -euo pipefail
source "$(dirname "$0")/lib/common.sh"
if ! command -v uv >/dev/null 2>&1; then
  echo "python: installing uv from PyPI (user site)"
  python3 -m pip install --user --quiet uv
  export PATH="$HOME/.local/bin:$PATH"
fi
# libmagic (Debian's libmagic1, which `file` brings on every release): cases decides a
# document's type from its content with it (python-magic).
ensure_apt file /usr/bin/file
cd "$ROOT"
# Bytecode compiled once here: a service process then starts without compiling every module
# it imports (~2x less CPU at start, more where PYTHONDONTWRITEBYTECODE is set); later syncs
# only compile what changed.
uv sync --all-packages --frozen --quiet --compile-bytecode
echo "python: .venv in sync with uv.lock ($(uv --version))"
