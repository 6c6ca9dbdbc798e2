"""Forward-error-correction codes and datagram coding chains (PTT-A3 / ZE)."""

from argosneo.coding.convolutional import conv_encode, viterbi_decode, ViterbiResult

__all__ = ["conv_encode", "viterbi_decode", "ViterbiResult"]
