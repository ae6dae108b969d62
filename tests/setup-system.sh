#!/usr/bin/env bash
# The system packages the tests use (Debian): libmagic for file types, chromium for the browser
# tests, and the real daemons the tests start on loopback (Redis, nginx, ClamAV). Idempotent:
# installs only what is missing, after `apt-get update`.
set -euo pipefail
need=()
for pkg in libmagic1 chromium fonts-dejavu-core redis-server nginx clamav-daemon clamav nodejs podman debootstrap; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
# The packaged daemons must not run as services here: the tests start their own on free ports.
for svc in redis-server nginx clamav-daemon clamav-freshclam; do
  if command -v systemctl >/dev/null 2>&1; then systemctl stop "$svc" >/dev/null 2>&1 || true; fi
done
