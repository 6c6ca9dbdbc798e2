"""Argos transmitter emulator: PTT-A2 frame bits and waveform (:mod:`.a2`), A4 VLD frames
(:mod:`.vld`, same waveform at 200 bit/s), PTT-A3/ZE waveform (:mod:`.a3`, frames from
:mod:`argosneo.coding.a3`), scenarios (:mod:`.scenario`), chunked rendering with
noise and ground truth (:mod:`.emulator`)."""

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
from argosneo.synth.a3 import a3_burst_duration, render_a3_burst
from argosneo.synth.scenario import FORMATS, CrowdSpec, Platform, Scenario, cn0_to_ebn0, ebn0_to_cn0
from argosneo.synth.vld import render_vld_burst, vld_burst_duration, vld_frame_bits, vld_known_answer_blocks

__all__ = [
    "a2_burst_duration", "a2_frame_bits", "a2_length_code", "a2_message_bits", "a2_waveform_phase",
    "bits_to_hex", "bits_to_int", "int_to_bits", "render_a2_burst",
    "BurstTruth", "Emulator", "SynthResult", "load_truth", "synthesize", "truth_path_for", "write_capture",
    "CrowdSpec", "Platform", "Scenario", "cn0_to_ebn0", "ebn0_to_cn0", "FORMATS",
    "render_vld_burst", "vld_burst_duration", "vld_frame_bits", "vld_known_answer_blocks",
    "a3_burst_duration", "render_a3_burst",
]
