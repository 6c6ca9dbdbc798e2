"""Capture I/O: SigMF recordings and archives, raw IQ files, 2-channel IQ WAV."""

from argosneo.io.chunk import SampleChunk, StreamInfo
from argosneo.io.datatypes import bytes_per_sample, datatype_from_extension, decode, encode
from argosneo.io.reader import CaptureReader, CaptureWarning, open_capture
from argosneo.io.writer import SigMFWriter, make_annotation, write_annotations

__all__ = [
    "CaptureReader",
    "CaptureWarning",
    "SampleChunk",
    "SigMFWriter",
    "StreamInfo",
    "bytes_per_sample",
    "datatype_from_extension",
    "decode",
    "encode",
    "make_annotation",
    "open_capture",
    "write_annotations",
]
