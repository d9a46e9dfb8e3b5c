"""The detector stages: pure steps the engine calls in a fixed order (``detect.engine``).

A stage receives the area context (``detect.context``), its own state and what is new (readings, polls,
a closed interval or day, and read-only views of other stages' state or of the active alarms), and returns
its new state and what it observed: conditions (``detect.observe``) and summary fields. It never raises or
clears an alert and never writes output: the engine does. A stage imports neither ``detect.engine`` nor
the alarm machinery (``detect.alarms``, ``detect.alarmboard``, ``detect.kernels.alarms``); a test checks.
Column states are updated in place (numpy) and returned; small states are frozen and replaced.
"""
