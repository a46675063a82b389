#!/usr/bin/env bash
# lock.sh [--upgrade | --upgrade-package NAME ...] -- regenerate requirements.lock (what the server
# runs with) and requirements-dev.lock (that plus the test and lint tools) from pyproject.toml.
#
# The locks are plain pip requirements files with exact versions and SHA-256 hashes, so installing
# from them needs nothing but pip (scripts/bootstrap.sh, the Dockerfile). They are compiled with uv
# because `uv pip compile --universal` writes one file that holds for every Python from 3.11 on and
# for Linux and macOS alike; pip-compile resolves only for the interpreter and platform it runs on.
# Without arguments the versions already in the locks are kept where the ranges still allow them.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
UV_VERSION=0.13.8
tool=${XDG_CACHE_HOME:-$HOME/.cache}/k8s-mcp-server/uv-$UV_VERSION
if [[ ! -x $tool/bin/uv ]]; then
  python3 -m venv "$tool"
  "$tool/bin/python" -m pip install -q --disable-pip-version-check "uv==$UV_VERSION"
fi
compile=("$tool/bin/uv" pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes
  --no-header --quiet "$@")
"${compile[@]}" -o requirements.lock
"${compile[@]}" --extra dev -o requirements-dev.lock
echo "requirements.lock, requirements-dev.lock: $(grep -c '==' requirements.lock), $(grep -c '==' requirements-dev.lock) pins"
