"""Modbus acquisition: transformer terminals and three-phase master meters over RTU, RTU-over-TCP and TCP.

Modules: ``registers`` (register types, RTU CRC), ``profile`` (device profiles as TOML data files),
``values`` (plausibility limits), ``plan`` (request coalescing), ``link`` (the pymodbus-free link
surface), ``adapter`` (the only module that imports pymodbus), ``device`` (per-device reads with
back-off), ``cli`` (``meterwatch read``). See docs/modbus.md.
Nothing here imports pymodbus at package import time.
"""
