#!/usr/bin/env bash
# Browser tests drive Debian's Chromium; install it when missing (no browser download from elsewhere).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "chromium is missing and cannot be installed here: browser tests will be skipped" >&2
fi
