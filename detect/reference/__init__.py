"""Plain numpy / Python reference implementations of every kernel in ``detect.kernels``.

Written independently and for obviousness, not speed: the tests compare the kernels against them, and the
engine runs on them where numba cannot be imported.
"""
