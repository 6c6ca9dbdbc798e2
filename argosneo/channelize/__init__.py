"""Polyphase channelizer: splits a wide complex baseband stream into M equally spaced channels.

See :mod:`argosneo.channelize.pfb` for the exact definition (channel order, phase reference,
timing) and :mod:`argosneo.channelize.prototype` for the prototype filter design.
"""

from argosneo.channelize.pfb import (
    PolyphaseChannelizer,
    channel_offsets_hz,
    channel_rate,
    reference_channelize,
)
from argosneo.channelize.prototype import (
    SIGNAL_HALF_BANDWIDTH_HZ,
    design_prototype,
    liquid_kaiser_prototype,
    receiver_passband_fraction,
    response_metrics,
)

__all__ = [
    "PolyphaseChannelizer",
    "channel_offsets_hz",
    "channel_rate",
    "reference_channelize",
    "SIGNAL_HALF_BANDWIDTH_HZ",
    "design_prototype",
    "liquid_kaiser_prototype",
    "receiver_passband_fraction",
    "response_metrics",
]
