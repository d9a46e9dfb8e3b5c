"""Link settings and port strings."""

from __future__ import annotations

import pytest

from edge.modbus.link import LinkSettings, NoReplyError, parse_port


def test_parse_port() -> None:
    assert parse_port("tcp://10.0.0.5:4001") == ("10.0.0.5", 4001)
    assert parse_port("/dev/ttyS1") == ("/dev/ttyS1", None)
    with pytest.raises(ValueError, match="expected tcp://host:port"):
        parse_port("tcp://10.0.0.5")


def test_link_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="parity must be N, E or O"):
        LinkSettings(kind="rtu", port="/dev/ttyS1", parity="X")
    with pytest.raises(ValueError, match="timeout_s must be > 0"):
        LinkSettings(kind="tcp", port="h", timeout_s=0)


def test_link_name_says_how_the_device_is_reached() -> None:
    assert LinkSettings(kind="rtu", port="/dev/ttyS2").name == "/dev/ttyS2"
    assert LinkSettings(kind="rtu-tcp", port="10.0.0.6", tcp_port=4001).name == "rtu-tcp://10.0.0.6:4001"


def test_no_reply_error_carries_device_and_wait() -> None:
    err = NoReplyError(3, 0.6, "/dev/ttyS2", attempts=2)
    assert (err.device_id, err.waited_s) == (3, 0.6)
    assert str(err) == "/dev/ttyS2: device 3: no reply within 0.60 s (2 attempts)"
