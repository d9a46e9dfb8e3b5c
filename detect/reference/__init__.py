"""Obviously-correct numpy implementations of the kernels (tests, and the fallback without numba)."""
