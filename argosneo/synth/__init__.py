"""PTT-A2 transmitter emulator: frame bits and waveform (:mod:`.a2`), scenarios (:mod:`.scenario`),
chunked rendering with noise and ground truth (:mod:`.emulator`)."""

from argosneo.synth.a2 import (
    a2_burst_duration,
    a2_frame_bits,
    a2_length_code,
    a2_message_bits,
    a2_waveform_phase,
    bits_to_hex,
    bits_to_int,
    int_to_bits,
    render_a2_burst,
)
from argosneo.synth.emulator import (
    BurstTruth,
    Emulator,
    SynthResult,
    load_truth,
    synthesize,
    truth_path_for,
    write_capture,
)
from argosneo.synth.scenario import CrowdSpec, Platform, Scenario, cn0_to_ebn0, ebn0_to_cn0

__all__ = [
    "a2_burst_duration", "a2_frame_bits", "a2_length_code", "a2_message_bits", "a2_waveform_phase",
    "bits_to_hex", "bits_to_int", "int_to_bits", "render_a2_burst",
    "BurstTruth", "Emulator", "SynthResult", "load_truth", "synthesize", "truth_path_for", "write_capture",
    "CrowdSpec", "Platform", "Scenario", "cn0_to_ebn0", "ebn0_to_cn0",
]
