"""SoapySDR test environment: only the project's own ``argosreplay`` module, nothing else.

libSoapySDR reads ``SOAPY_SDR_ROOT``/``SOAPY_SDR_PLUGIN_PATH`` once, when it first loads its
modules, and keeps them for the life of the process. So :func:`configure` must run before any
test touches SoapySDR: ``tests/conftest.py`` calls it at session start. Pointing the root at an
empty folder keeps system modules (some of which broadcast on the network when enumerating) out.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
MODULE_DIR = REPO / "soapy" / "build"
MODULE = MODULE_DIR / "libargosreplay.so"
_BUILD = REPO / "soapy" / "build.sh"

_state: dict = {}


def configure() -> dict:
    """Set the SoapySDR environment for this process (idempotent); returns what was set.

    Builds the replay module first when a compiler and the SoapySDR headers are present
    (``soapy/build.sh`` only recompiles when the source changed).
    """
    if _state:
        return _state
    build_error = None
    if _BUILD.exists() and os.access(_BUILD, os.X_OK) and Path("/usr/include/SoapySDR/Device.hpp").exists():
        proc = subprocess.run([str(_BUILD)], capture_output=True, text=True)
        if proc.returncode != 0:
            build_error = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["build failed"]
            build_error = build_error[0]
    root = tempfile.mkdtemp(prefix="argosneo-soapy-root-")
    atexit.register(shutil.rmtree, root, True)
    # a replay file named in the user's environment would appear in every enumeration
    os.environ.pop("ARGOSREPLAY_FILE", None)
    os.environ["SOAPY_SDR_ROOT"] = root
    os.environ["SOAPY_SDR_PLUGIN_PATH"] = str(MODULE_DIR)
    _state.update(root=root, plugin_path=str(MODULE_DIR), build_error=build_error)
    return _state


def unavailable_reason() -> str | None:
    """Why SoapySDR device tests cannot run here, or None when they can."""
    configure()
    try:
        import SoapySDR  # noqa: F401, PLC0415
    except ImportError as exc:
        return f"SoapySDR Python bindings not importable ({exc}); run scripts/setup.sh as root"
    if not MODULE.exists():
        why = _state.get("build_error") or "g++ or libsoapysdr-dev missing"
        return f"argosreplay module not built ({why}); run soapy/build.sh"
    return None


#: Mark for tests that need libSoapySDR and the argosreplay module.
requires_soapy = pytest.mark.skipif(unavailable_reason() is not None, reason=str(unavailable_reason()))


@pytest.fixture
def soapy_env():
    """The SoapySDR environment (``root``, ``plugin_path``); skips when it cannot run."""
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    return dict(configure())
