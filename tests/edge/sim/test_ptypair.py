import time

import serial  # type: ignore[import-untyped]

from edge.sim.ptypair import PtyPair


def test_bytes_cross_both_ways_between_the_two_tty_paths():
    with PtyPair() as (dev, cli):
        assert dev.startswith("/dev/") and cli.startswith("/dev/") and dev != cli
        with serial.Serial(dev, 9600, timeout=1) as a, serial.Serial(cli, 9600, timeout=1) as b:
            payload = bytes(range(256)) * 4
            a.write(payload)
            got = b""
            deadline = time.monotonic() + 3
            while len(got) < len(payload) and time.monotonic() < deadline:
                got += b.read(len(payload) - len(got))
            assert got == payload
            b.write(b"\xfe\xfe\x68\x16")
            assert a.read(4) == b"\xfe\xfe\x68\x16"
