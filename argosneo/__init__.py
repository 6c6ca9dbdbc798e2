"""argosneo: a software-defined-radio receiver toolkit for the Argos satellite uplink."""

__version__ = "0.1.0"
