#!/usr/bin/env bash
# bootstrap.sh [dev] -- create ./.venv with Python 3.11 or newer and install the project (and its dev
# tools) at the exact, hash-checked versions of requirements.lock (requirements-dev.lock with `dev`).
# Run by serve.sh and test.sh; idempotent and quick when nothing changed. K8S_MCP_PYTHON names the
# interpreter to use; otherwise the first of python3, python3.14 ... python3.11 that is 3.11 or newer.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=$repo/.venv
new_enough() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }
py=
for candidate in ${K8S_MCP_PYTHON:-python3 python3.14 python3.13 python3.12 python3.11}; do
  found=$(command -v "$candidate" || true)
  if [[ -n $found ]] && new_enough "$found"; then py=$found; break; fi
done
if [[ -z $py ]]; then
  seen=$(command -v python3 >/dev/null && python3 --version 2>&1 || echo "no python3 on PATH")
  echo "Python 3.11 or newer is required (found: $seen); install one, or name it in K8S_MCP_PYTHON" >&2
  exit 1
fi
[[ -x $venv/bin/python ]] || "$py" -m venv "$venv"
extra=${1:-}
lock=$repo/requirements${extra:+-$extra}.lock
stamp=$venv/.installed${extra:+-$extra}
# reinstall only when pyproject.toml or the lock changed since the last install
if [[ ! -f $stamp || $repo/pyproject.toml -nt $stamp || $lock -nt $stamp ]]; then
  echo "[bootstrap] installing $(basename "$lock") into .venv (the first time: about half a minute)" >&2
  pip=("$venv/bin/python" -m pip install -q --disable-pip-version-check)
  "${pip[@]}" --require-hashes -r "$lock"
  "${pip[@]}" --no-deps -e "$repo"
  touch "$stamp"
fi
