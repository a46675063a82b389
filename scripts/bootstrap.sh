#!/usr/bin/env bash
# bootstrap.sh [dev] -- create ./.venv with Python 3.11 and install the project (and its dev tools).
# Sourced by serve.sh and test.sh; idempotent and quick when nothing changed.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=$repo/.venv
py=$(command -v python3.11 || command -v python3 || true)
[[ -n $py ]] || { echo "python 3.11 is required" >&2; exit 1; }
"$py" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' ||
  { echo "python 3.11 is required (found $("$py" --version))" >&2; exit 1; }
[[ -x $venv/bin/python ]] || "$py" -m venv "$venv"
extra=${1:-}
stamp=$venv/.installed${extra:+-$extra}
# reinstall only when pyproject.toml changed since the last install
if [[ ! -f $stamp || $repo/pyproject.toml -nt $stamp ]]; then
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -e "$repo${extra:+[$extra]}"
  touch "$stamp"
fi
