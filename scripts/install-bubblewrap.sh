#!/usr/bin/env bash
# Install bubblewrap, the sandbox trainrisk runs model code in. Without it trainrisk falls back
# to a plain subprocess sandbox that does NOT isolate the code (it says so loudly).
set -u
if command -v bwrap >/dev/null; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y bubblewrap >/dev/null 2>&1 \
    || { apt-get update >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y bubblewrap >/dev/null; }
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null && command -v apt-get >/dev/null; then
  sudo DEBIAN_FRONTEND=noninteractive apt-get install -y bubblewrap >/dev/null
fi
command -v bwrap >/dev/null || echo "WARNING: could not install bubblewrap; install it with your package manager (e.g. sudo apt-get install bubblewrap)." >&2
exit 0
