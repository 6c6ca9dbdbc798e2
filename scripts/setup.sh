#!/usr/bin/env bash
# One-step, idempotent set-up: Debian packages (when root), .venv with the project editable
# and its test extras, the SoapySDR bindings linked into the venv, and the SoapySDR replay
# module built for the live-path tests. Fast when nothing changed.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
ROOT=$PWD
VENV=$ROOT/.venv
PY=${PYTHON:-python3}

log() { printf '[setup] %s\n' "$*" >&2; }

# --- Debian packages (SoapySDR bindings and headers); only possible as root ---------------
APT_PACKAGES=(python3-soapysdr libsoapysdr-dev g++)
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    missing=()
    for p in "${APT_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing Debian packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
            apt-get update -q >/dev/null 2>&1
            apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
        }
    fi
else
    log "not root: skipping Debian packages (SoapySDR tests will skip)"
fi

# --- virtual environment -------------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    "$PY" -m venv "$VENV"
fi
stamp=$VENV/.argosneo-installed
want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    log "installing argosneo (editable) with test extras"
    "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
    "$VENV/bin/python" -m pip install -q -e ".[test]"
    echo "$want" > "$stamp"
fi

# --- SoapySDR bindings: a .pth pointing at a folder with only SoapySDR.py + _SoapySDR*.so ---
# (a plain PYTHONPATH to Debian's dist-packages would leak Debian's old numpy into the venv)
soapy_py=$(ls /usr/lib/python3/dist-packages/SoapySDR.py 2>/dev/null || true)
if [ -n "$soapy_py" ]; then
    shim=$VENV/soapysdr-shim
    mkdir -p "$shim"
    ln -sf "$soapy_py" "$shim/SoapySDR.py"
    for so in /usr/lib/python3/dist-packages/_SoapySDR*.so; do
        # the Debian module is built for Debian's python3; expose it under this venv's ABI tag too
        ln -sf "$so" "$shim/$(basename "$so")"
        ln -sf "$so" "$shim/_SoapySDR$("$VENV/bin/python" -c 'import sysconfig;print(sysconfig.get_config_var("EXT_SUFFIX"))')"
    done
    site=$("$VENV/bin/python" -c 'import sysconfig;print(sysconfig.get_paths()["purelib"])')
    echo "$shim" > "$site/argosneo-soapysdr.pth"
fi

# --- SoapySDR replay module (C++), for the live path without hardware -----------------------
if [ -x soapy/build.sh ] && [ -f /usr/include/SoapySDR/Device.hpp ]; then
    soapy/build.sh
fi
log "ready"
