# shellcheck shell=bash
# Kaldi's path.sh: serkit's environment and bin/ on PATH. Sourced by run.sh.
# SERKIT_ROOT may be set for a copy of a recipe dir that lives outside the repository.
SERKIT_ROOT=${SERKIT_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
if [ -x "$SERKIT_ROOT/.venv/bin/serkit" ]; then
  export PATH="$SERKIT_ROOT/.venv/bin:$PATH"
fi
export PATH="$SERKIT_ROOT/bin:$PATH"
export PYTHONUNBUFFERED=1
command -v serkit >/dev/null || { echo "serkit is not installed: run 'make install' in $SERKIT_ROOT" >&2; exit 1; }
