#!/usr/bin/env bash
# browser.sh install -- the headless browser the console tests drive (tests/console/): Debian's
# chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver), as root via apt-get.
set -euo pipefail
have() { [[ -x /usr/bin/chromium && -x /usr/bin/chromedriver ]]; }
case ${1:-} in
  install)
    if have; then exit 0; fi
    if [[ $(id -u) -ne 0 ]]; then
      echo "the console tests need a browser: sudo apt-get install -y chromium chromium-driver" >&2
      exit 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver >/dev/null ||
      { apt-get update >/dev/null &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium chromium-driver >/dev/null; }
    have
    ;;
  *)
    echo "usage: $0 install" >&2
    exit 2
    ;;
esac
