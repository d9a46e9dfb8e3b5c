"""Opening serial ports: why an open failed, in words a technician can act on.

Shared by the DL/T 645 link and the Modbus adapter (both open with pyserial, ``exclusive=True``).
"""

from __future__ import annotations

import errno
import termios

__all__ = ["OPEN_ERRORS", "open_error_text"]


def _open_errors() -> tuple[type[BaseException], ...]:
    import serial

    # termios.error is not an OSError: a parity or baud the port rejects (EINVAL) escapes as it
    return (serial.SerialException, ValueError, OSError, termios.error)


OPEN_ERRORS = _open_errors()


def open_error_text(exc: BaseException) -> str:
    """The cause of a failed serial open, with a hint where the errno has a usual field cause."""
    code = exc.args[0] if isinstance(exc, termios.error) and exc.args else getattr(exc, "errno", None)
    if code == errno.EINVAL:
        return f"{exc} (the port does not support this baud rate or parity)"
    if code == errno.EAGAIN or "exclusively lock" in str(exc):
        return "the port is in use by another program (it holds the port's lock)"
    if code == errno.ENOENT:
        return "no such device (not plugged in, or a different name)"
    if code == errno.EACCES:
        return f"{exc} (permission denied: the user needs the dialout group)"
    return str(exc)
