#!/usr/bin/env bash
# Installs the Debian peers that benchmarks/bench_channelizer.py compares against:
# liquid-dsp (libliquid-dev, C library + headers, plus gcc to build the small driver) and
# GNU Radio (run under Debian's /usr/bin/python3). Only run on demand: the test suite never
# calls this, it skips the peer measurements when they are missing. Needs root and apt.
set -euo pipefail

log() { printf '[setup_peers] %s\n' "$*" >&2; }

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    log "needs root and apt-get; nothing done"
    exit 1
fi

PACKAGES=(libliquid-dev gcc libc6-dev gnuradio)
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    log "all peers already installed"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
log "installing: ${missing[*]}"
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}"
log "done"
