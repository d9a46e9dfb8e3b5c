"""One module per ``meterwatch`` command; the registry is ``edge.cli.COMMANDS``."""
