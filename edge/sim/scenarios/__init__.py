"""Bundled simulator configurations: one file per scenario family (see docs/simulator.md)."""
