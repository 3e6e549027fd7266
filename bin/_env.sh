# Shared by bin/run and bin/test: find Python 3.11+, create .venv, install what changed.
# Usage: source bin/_env.sh <requirements file>
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

find_python() {
  for candidate in "${PYTHON:-}" python3.13 python3.12 python3.11 python3; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  echo "error: Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)." >&2
  return 1
}

REQUIREMENTS="${1:-requirements.txt}"
if [ ! -x .venv/bin/python ]; then
  PY="$(find_python)"
  echo "Creating virtualenv .venv with $PY ..."
  "$PY" -m venv .venv
fi
STAMP=".venv/.installed-$(basename "$REQUIREMENTS")"
WANT="$(cat requirements*.txt | sha256sum | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  echo "Installing $REQUIREMENTS into .venv ..."
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
  echo "$WANT" > "$STAMP"
fi
export PATH="$ROOT/.venv/bin:$PATH"
mkdir -p var
