"""Signal-processing primitives shared by the DSP stages (filter design, resampling, fast
convolution, spectral density).

Why not ``scipy.signal``: importing it costs ≈ 0.5–0.8 s of CPU (SciPy ≥ 1.15 rewrites ~650
docstrings at import for its array-API notes, and pulls in ``scipy.stats``), a third of a short
replay's run time. These functions reproduce the ``scipy.signal`` calls the receiver used, and
``tests/test_dsp_primitives.py`` checks each against ``scipy.signal`` itself.
"""
