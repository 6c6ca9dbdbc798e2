"""``argosneo devices``: list SoapySDR receivers without probing the network by accident.

A bare ``SoapySDR.Device.enumerate()`` calls every installed module's find function, and some
of them (UHD, SoapyRemote, rfspace, ...) broadcast discovery packets on the local network. So by
default only drivers known to look at local buses are asked, one by one, and only when their
module is installed; ``--all`` does the unfiltered enumeration on explicit request.
"""

from __future__ import annotations

import os

import click

from argosneo.errors import DeviceError

#: Drivers whose find function only looks at local buses (USB, PCIe, sound cards) or, for
#: argosreplay, at an explicitly named file.
LOCAL_DRIVERS = (
    "rtlsdr",
    "airspy",
    "airspyhf",
    "hackrf",
    "lime",
    "bladerf",
    "sdrplay",
    "mirisdr",
    "osmosdr",
    "audio",
    "argosreplay",
)

#: Module file stem (``lib<stem>Support.so`` / ``lib<stem>.so``, lower case) -> driver names
#: it registers, where they differ from the stem.
_MODULE_DRIVERS = {
    "lms7": ("lime",),
    "sdrplay": ("sdrplay",),
    "osmosdr": ("osmosdr",),
}


def _module_stem(path: str) -> str:
    name = os.path.basename(path).lower()
    for suffix in (".so", ".dylib", ".dll"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    name = name.split(".so.")[0]
    if name.startswith("lib"):
        name = name[3:]
    if name.endswith("support"):
        name = name[: -len("support")]
    return name


def installed_drivers(modules) -> set[str]:
    """Driver names provided by the given SoapySDR module files, as far as known.

    Parameters
    ----------
    modules : iterable of str
        Paths from ``SoapySDR.listModules()``.

    Returns
    -------
    set of str
        Driver names (a module is mapped by its file name; unknown modules map to their stem).
    """
    drivers = set()
    for path in modules:
        stem = _module_stem(path)
        drivers.update(_MODULE_DRIVERS.get(stem, (stem,)))
    return drivers


def parse_kv(text: str) -> dict[str, str]:
    """``"a=1,b=2"`` -> ``{"a": "1", "b": "2"}``; raises DeviceError on an item without ``=``."""
    out = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise DeviceError(f"device filter {part!r} is not KEY=VALUE")
        out[key.strip()] = value.strip()
    return out


def format_args(kwargs) -> str:
    """One device's enumeration result as ``driver=...,key=value`` (driver first, no label).

    The label is left out because it is free text (spaces, commas) and not needed to open the
    device: the result can be passed as it is to ``--device``.
    """
    items = {str(k): str(v) for k, v in dict(kwargs).items()}
    items.pop("label", None)
    ordered = [("driver", items.pop("driver"))] if "driver" in items else []
    ordered += sorted(items.items())
    return ",".join(f"{k}={v}" for k, v in ordered)


def enumerate_devices(driver: str | None = None, extra: dict | None = None, everything: bool = False):
    """Enumerate SoapySDR devices safely.

    Parameters
    ----------
    driver : str or None
        Ask only this driver. None asks every installed driver in :data:`LOCAL_DRIVERS`.
    extra : dict or None
        More filter arguments (``serial=...``, ``file=...`` for argosreplay).
    everything : bool
        Unfiltered enumeration over all installed modules, network ones included.

    Returns
    -------
    devices : list of dict
        One dict of device arguments per device found.
    asked : list of str
        The drivers that were asked (``["*"]`` for an unfiltered enumeration).
    """
    from argosneo.io.soapy_source import import_soapysdr  # noqa: PLC0415 - lazy, optional dependency

    SoapySDR = import_soapysdr()
    extra = dict(extra or {})
    if everything:
        asked = ["*"]
        queries = [extra]
    elif driver:
        asked = [driver]
        queries = [{**extra, "driver": driver}]
    else:
        present = installed_drivers(SoapySDR.listModules())
        asked = [d for d in LOCAL_DRIVERS if d in present]
        queries = [{**extra, "driver": d} for d in asked]
    devices = []
    for query in queries:
        for result in SoapySDR.Device.enumerate(query):
            devices.append({str(k): str(v) for k, v in dict(result).items()})
    return devices, asked


@click.command("devices")
@click.option("--driver", "-d", metavar="NAME", help="Ask only this SoapySDR driver (e.g. rtlsdr, argosreplay).")
@click.option(
    "--args",
    "-a",
    "extra",
    metavar="KEY=VAL,...",
    default="",
    help="Extra enumeration filters passed to the driver (e.g. serial=..., or file=PATH for argosreplay).",
)
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Enumerate every installed module, network drivers included (they may broadcast on the LAN).",
)
def devices(driver, extra, everything):
    """List SoapySDR receivers: one line per device, its args (usable as rx --device) then
    '# label'.

    Without --driver only locally attached drivers are asked (rtlsdr, airspy, hackrf, lime, ...),
    never network ones.
    """
    if everything and driver:
        raise click.UsageError("--all and --driver exclude each other")
    filters = parse_kv(extra)
    if "driver" in filters:
        if driver and filters["driver"] != driver:
            raise click.UsageError("--args driver=... contradicts --driver")
        driver = filters.pop("driver")
    if everything:
        click.echo("argosneo: enumerating all SoapySDR modules, network drivers included", err=True)
    found, asked = enumerate_devices(driver, filters, everything)
    if not found:
        from argosneo.io.soapy_source import import_soapysdr  # noqa: PLC0415

        SoapySDR = import_soapysdr()
        modules = ", ".join(os.path.basename(m) for m in SoapySDR.listModules()) or "none"
        if asked:
            where = "all modules" if asked == ["*"] else "drivers " + ", ".join(asked)
            click.echo(f"no SoapySDR devices found (asked {where}; installed modules: {modules})")
        else:
            click.echo(
                "no SoapySDR devices found: no local-device driver module is installed "
                f"(installed modules: {modules}); try --driver NAME or --all"
            )
        return
    for dev in found:
        label = dev.get("label")
        click.echo(format_args(dev) + (f"  # {label}" if label else ""))
