"""Test support: real processes on free loopback ports and pseudo-terminal pairs."""
