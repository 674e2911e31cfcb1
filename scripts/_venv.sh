# Shared by scripts/*: make .venv and install the project into it when needed.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CONSULT_VENV:-$ROOT/.venv}"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
STAMP="$VENV/.installed-$1"
if [ ! -f "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ]; then
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  if [ "$1" = base ]; then TARGET="$ROOT"; else TARGET="$ROOT[$1]"; fi
  "$VENV/bin/python" -m pip install --quiet -e "$TARGET"
  touch "$STAMP"
fi
