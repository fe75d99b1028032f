#!/usr/bin/env bash
# Debian's Chromium for the browser tests (Playwright's own browser download does not work offline).
set -eu
# CJK fonts so that the screenshots show Chinese rather than empty boxes.
if [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/opentype/noto ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk
  else
    echo "Chromium or CJK fonts are missing: run 'sudo apt-get install -y chromium fonts-noto-cjk'" >&2
    exit 1
  fi
fi
