"""Streaming detection core: no I/O, no wall clock. Consumes timestamped readings, emits alerts and summaries."""

from detect.alarms import Alert
from detect.backend import backend as kernel_backend
from detect.backend import describe as describe_backend
from detect.batch import ReadingBatch
from detect.engine import Engine, Output, Summary
from detect.quantities import QUANTITIES, quantity_code

__all__ = ["QUANTITIES", "Alert", "Engine", "Output", "ReadingBatch", "Summary", "describe_backend",
           "kernel_backend", "quantity_code"]
