"""Errors that reach the user as one clear line (the CLI prints them without a traceback)."""


class ArgosneoError(Exception):
    """Base class: the message is shown to the user as-is, followed by a non-zero exit."""


class CaptureError(ArgosneoError):
    """A capture cannot be read or written as asked (missing, unreadable, inconsistent)."""


class ScenarioError(ArgosneoError):
    """An emulator scenario is invalid."""


class FlowgraphError(ArgosneoError):
    """A flowgraph file or a reconfiguration is invalid."""


class DeviceError(ArgosneoError):
    """An SDR device cannot be opened or has failed."""
