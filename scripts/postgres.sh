#!/usr/bin/env bash
# postgres.sh install|bin -- the PostgreSQL server the tests start (tests/support/postgres.py), from
# Debian's `postgresql` package, like cluster.sh does for the Kubernetes control plane.
#   install  apt-get install postgresql when no initdb is found (as root; otherwise says what to run)
#   bin      print the folder holding initdb and pg_ctl
# K8S_MCP_TEST_DATABASE_URL (a postgresql:// URL of a server you run) makes the tests use that instead.
set -euo pipefail
find_bin() {
  local dir
  if command -v pg_config >/dev/null && [[ -x $(pg_config --bindir)/initdb ]]; then
    pg_config --bindir
    return 0
  fi
  for dir in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [[ -x $dir/initdb && -x $dir/pg_ctl ]]; then echo "$dir"; return 0; fi
  done
  if command -v initdb >/dev/null; then dirname "$(readlink -f "$(command -v initdb)")"; return 0; fi
  return 1
}
case ${1:-} in
  install)
    if [[ -n ${K8S_MCP_TEST_DATABASE_URL:-} ]] || find_bin >/dev/null; then exit 0; fi
    if [[ $(id -u) -ne 0 ]]; then
      echo "PostgreSQL is needed by the tests: sudo apt-get install -y postgresql (or set K8S_MCP_TEST_DATABASE_URL)" >&2
      exit 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql >/dev/null ||
      { apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql >/dev/null; }
    find_bin >/dev/null
    ;;
  bin)
    find_bin || { echo "no PostgreSQL server binaries (initdb, pg_ctl): run scripts/postgres.sh install" >&2; exit 1; }
    ;;
  *)
    echo "usage: $0 install|bin" >&2
    exit 2
    ;;
esac
