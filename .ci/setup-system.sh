#!/usr/bin/env bash
# Installs the system packages WebGPU needs on a GPU-less Debian 12 machine (see README).
# Idempotent: each step is skipped when its result is already present.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need_update=0
# lavapipe from Mesa 25 (bookworm-backports): Dawn rejects bookworm's Mesa 22.
if [ ! -f /usr/share/vulkan/icd.d/lvp_icd.json ]; then
  if ! grep -rqs bookworm-backports /etc/apt/sources.list.d/ /etc/apt/sources.list 2>/dev/null; then
    URI=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    URI=${URI:-http://deb.debian.org/debian}
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$URI" \
      | $SUDO tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null
  fi
  $SUDO apt-get update -qq
  need_update=1
  $SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports mesa-vulkan-drivers
fi
# Debian's chromium for the headless browser tests and demos (SwiftShader WebGPU).
if ! command -v chromium >/dev/null 2>&1; then
  [ "$need_update" = 1 ] || $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends chromium
fi
