#!/usr/bin/env bash
# test.sh -- the whole gate, as CI runs it: install, lint, type-check, then every test (unit and
# integration). The integration tests start the project's real Kubernetes control plane
# (scripts/cluster.sh; built once, 644 s on a 2-core machine, then cached in ~/.cache), unless
# K8S_MCP_TEST_KUBECONFIG points them at an existing cluster; likewise a real PostgreSQL
# (scripts/postgres.sh), unless K8S_MCP_TEST_DATABASE_URL names one. Extra arguments go to pytest.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
bash scripts/bootstrap.sh dev
if [[ -z ${K8S_MCP_TEST_KUBECONFIG:-} ]]; then
  bash scripts/cluster.sh install
fi
# the PostgreSQL server the shared-state tests start (Debian's postgresql), unless they are given one
bash scripts/postgres.sh install
# the headless browser the console tests drive (Debian's chromium and chromium-driver)
bash scripts/browser.sh install
.venv/bin/ruff check src tests bench
.venv/bin/ruff format --check src tests bench
.venv/bin/mypy
exec .venv/bin/pytest "$@"
