"""numba kernels over numpy arrays, one module per topic; each has a numpy twin in ``detect.reference``."""
