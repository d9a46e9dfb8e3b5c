"""numba kernels, one module per topic; ``detect.reference`` holds the numpy twins (same signatures).

Pick the module through ``detect.backend.kernels(topic)``, never by importing here directly in the engine.
"""
