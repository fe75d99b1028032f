#!/usr/bin/env bash
# Debian's Chromium for the browser tests (Playwright's own browser download does not work offline).
set -eu
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium
  else
    echo "Chromium is missing: run 'sudo apt-get install -y chromium'" >&2
    exit 1
  fi
fi
