"""Numerical policy of the detection kernels, in one place.

- fastmath: only the flags that keep NaN and infinity semantics. Meter data has gaps and NaN means
  "not read", so ``nnan``/``ninf`` (which let LLVM assume neither occurs) are never enabled.
- cache: compiled kernels are cached on disk (``__pycache__`` next to the module, or ``NUMBA_CACHE_DIR``)
  so a restart of the daemon does not recompile.
- tolerances: what "numba matches the numpy reference" means in the tests. Kernels and references use
  different operation orders (and ``reassoc`` lets LLVM reorder sums), so equality is relative.
"""

from __future__ import annotations

__all__ = ["ATOL", "CACHE", "FASTMATH", "RTOL", "THERMAL_ATOL_K"]

# No fastmath flags: NaN means "not read" (no nnan/ninf), and reassociation/approximate reciprocals
# break sums and correlations over large offsets (+1e8 kWh registers) beyond the kernel tolerance.
FASTMATH: frozenset[str] = frozenset()
CACHE = True

# kernel vs reference: |a - b| <= ATOL + RTOL * |b|
RTOL = 1e-9
ATOL = 1e-9
# The thermal model is integrated over thousands of sub-steps; sums re-associate differently.
THERMAL_ATOL_K = 1e-6
