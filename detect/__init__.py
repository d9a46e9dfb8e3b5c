"""Streaming detection core: no I/O, no wall clock. Consumes timestamped readings, emits alerts and summaries."""

from detect.quantities import QUANTITIES, quantity_code

__all__ = ["QUANTITIES", "quantity_code"]
