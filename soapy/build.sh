#!/usr/bin/env bash
# Build the argosreplay SoapySDR module into soapy/build/libargosreplay.so.
# Idempotent and fast: recompiles only when the source (or this script) is newer than the
# library. Needs g++ and libsoapysdr-dev. Use it with SOAPY_SDR_PLUGIN_PATH=<repo>/soapy/build.
set -euo pipefail
here=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
src=$here/ArgosReplay.cpp
out=$here/build/libargosreplay.so
if [ -f "$out" ] && [ "$out" -nt "$src" ] && [ "$out" -nt "$here/build.sh" ]; then
    exit 0
fi
mkdir -p "$here/build"
tmp=$(mktemp "$here/build/.libargosreplay.XXXXXX.tmp")
trap 'rm -f "$tmp"' EXIT
# build to a temporary name (not *.so: libSoapySDR would load it from this folder) and rename,
# so a process that has the old library loaded keeps it
${CXX:-g++} -std=c++14 -shared -fPIC -O2 -Wall -Wextra -o "$tmp" "$src" -lSoapySDR
chmod 755 "$tmp"
mv -f "$tmp" "$out"
trap - EXIT
printf '[soapy] built %s\n' "$out" >&2
