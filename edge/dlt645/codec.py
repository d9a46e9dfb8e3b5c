"""DL/T 645 frames, sans-I/O: encode requests, decode a byte stream into frames (dlt645.md §1, §5).

The codec never touches a port. ``Decoder.feed(chunk)`` takes whatever bytes arrived and returns the
complete frames found so far, plus a ``DecodeError`` *as data* for each candidate it rejected. Frames
are located by their length byte (never by scanning for 16H, which appears inside +33H data), and a
candidate is accepted only when the second 68H, the control code, the length, the checksum, the end
byte and (for replies) the BCD address all check out. ``DecodeError`` is the only exception this
module raises.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from edge.errors import ProtocolError

__all__ = [
    "BROADCAST",
    "MAX_DATA_LEN",
    "WILDCARD",
    "DecodeError",
    "Decoder",
    "Frame",
    "address_bytes",
    "decode_frame",
    "di_bytes",
    "encode_frame",
    "encode_read",
    "encode_read_1997",
    "encode_read_address",
    "encode_read_followup",
    "encode_time_sync",
]

WILDCARD = "AAAAAAAAAAAA"
BROADCAST = "999999999999"
MAX_DATA_LEN = 200          # 2007 text: reads carry L <= 200
START = 0x68
END = 0x16
PREAMBLE = 0xFE
OFFSET = 0x33
# Function codes (D4..D0) a frame of either edition can carry; anything else is not a frame start.
_FUNCTIONS = frozenset({0x01, 0x02, 0x03, 0x04, 0x08, 0x0A, 0x0C, 0x0F, 0x10,
                        0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A, 0x1B, 0x1C})


class DecodeError(ProtocolError):
    """A frame or field that was rejected. ``kind`` is a stable tag for counters, ``raw`` the bytes."""

    def __init__(self, kind: str, detail: str, raw: bytes = b"") -> None:
        self.kind = kind
        self.detail = detail
        self.raw = bytes(raw)
        super().__init__(f"{kind}: {detail}")

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, DecodeError) and (self.kind, self.detail, self.raw)
                == (other.kind, other.detail, other.raw))

    def __hash__(self) -> int:
        return hash((self.kind, self.detail, self.raw))


@dataclass(frozen=True, slots=True, kw_only=True)
class Frame:
    """One checked frame. ``data`` has the 33H offset removed; ``raw`` is 68..16 as received."""

    address: str          # 12 characters, nameplate order ("000000000001"; "AAAAAAAAAAAA" wildcard)
    control: int
    data: bytes
    raw: bytes
    n_fe: int = 0         # FE bytes seen right before this frame

    @property
    def function(self) -> int:
        return self.control & 0x1F

    @property
    def is_reply(self) -> bool:
        return bool(self.control & 0x80)

    @property
    def is_exception(self) -> bool:
        return bool(self.control & 0x40)

    @property
    def has_followup(self) -> bool:
        return bool(self.control & 0x20)


def address_bytes(address: str) -> bytes:
    """Wire bytes (lowest first) of a 12-character address; shorter ones are padded with zeros."""
    a = address.strip().upper()
    if not a or len(a) > 12 or any(c not in "0123456789A" for c in a):
        raise DecodeError("address", f"address {address!r} is not up to 12 digits (A for wildcard)")
    a = a.rjust(12, "0")
    return bytes.fromhex(a)[::-1]


def di_bytes(di: str) -> bytes:
    """Wire-order bytes (DI0 first, without offset) of a 4-byte (2007) or 2-byte (1997) DI in hex."""
    d = di.strip()
    if len(d) not in (4, 8):
        raise DecodeError("di", f"DI {di!r} must be 8 (2007) or 4 (1997) hex digits")
    try:
        return bytes.fromhex(d)[::-1]
    except ValueError:
        raise DecodeError("di", f"DI {di!r} is not hexadecimal") from None


def encode_frame(address: str, control: int, data: bytes = b"", *, n_fe: int = 4) -> bytes:
    """A complete frame: ``n_fe`` FE bytes, header, data +33H, checksum, 16H."""
    if len(data) > 255:
        raise DecodeError("length", f"data of {len(data)} bytes does not fit the length byte")
    body = (bytes([START]) + address_bytes(address) + bytes([START, control & 0xFF, len(data)])
            + bytes((b + OFFSET) & 0xFF for b in data))
    return bytes([PREAMBLE]) * n_fe + body + bytes([sum(body) & 0xFF, END])


def encode_read(address: str, di: str, *, n_fe: int = 4) -> bytes:
    """2007 read data (11H) of a 4-byte DI."""
    return encode_frame(address, 0x11, _di4(di), n_fe=n_fe)


def encode_read_followup(address: str, di: str, seq: int, *, n_fe: int = 4) -> bytes:
    """2007 read follow-up (12H): DI + frame number ``seq`` (1, 2, ...)."""
    if not 0 < seq < 256:
        raise DecodeError("seq", f"follow-up number {seq} is not 1..255")
    return encode_frame(address, 0x12, _di4(di) + bytes([seq]), n_fe=n_fe)


def encode_read_address(*, n_fe: int = 4) -> bytes:
    """2007 read address (13H) to the all-AA wildcard: the single meter of a point-to-point link answers."""
    return encode_frame(WILDCARD, 0x13, b"", n_fe=n_fe)


def encode_read_1997(address: str, di: str, *, n_fe: int = 4) -> bytes:
    """1997 read data (01H) of a 2-byte DI."""
    d = di_bytes(di)
    if len(d) != 2:
        raise DecodeError("di", f"1997 DI {di!r} must be 4 hex digits")
    return encode_frame(address, 0x01, d, n_fe=n_fe)


def encode_time_sync(when: datetime, *, n_fe: int = 4) -> bytes:
    """Broadcast time (08H) to 99..99, data ss mm hh DD MM YY in meter local time. No meter answers it."""
    fields = (when.second, when.minute, when.hour, when.day, when.month, when.year % 100)
    return encode_frame(BROADCAST, 0x08, bytes(((v // 10) << 4) | (v % 10) for v in fields), n_fe=n_fe)


def _di4(di: str) -> bytes:
    d = di_bytes(di)
    if len(d) != 4:
        raise DecodeError("di", f"2007 DI {di!r} must be 8 hex digits")
    return d


def _is_bcd(b: int) -> bool:
    return (b & 0x0F) < 10 and (b >> 4) < 10


def _check_candidate(buf: bytes | bytearray, i: int) -> tuple[int, Frame | DecodeError | None]:
    """Look at a 68H at ``buf[i]``. Returns (frame length, result); result None = need more bytes,
    length 0 with a DecodeError = not a frame header here (resync one byte on)."""
    n = len(buf)
    if n - i < 10:
        return 0, None
    if buf[i + 7] != START:
        return 0, DecodeError("header", "no second 68H")
    control, length = buf[i + 8], buf[i + 9]
    if (control & 0x1F) not in _FUNCTIONS or length > MAX_DATA_LEN:
        return 0, DecodeError("header", f"implausible C={control:02X} L={length}")
    total = 12 + length
    if n - i < total:
        return total, None
    raw = bytes(buf[i:i + total])
    cs = sum(raw[:-2]) & 0xFF
    if raw[-2] != cs:
        return total, DecodeError("checksum", f"CS {raw[-2]:02X}, computed {cs:02X}", raw)
    if raw[-1] != END:
        return total, DecodeError("end", f"end byte {raw[-1]:02X}, expected 16", raw)
    addr = raw[1:7]
    if control & 0x80 and not all(_is_bcd(b) for b in addr):
        return total, DecodeError("bcd", f"reply address {addr[::-1].hex().upper()} is not BCD", raw)
    frame = Frame(address=addr[::-1].hex().upper(), control=control,
                  data=bytes((b - OFFSET) & 0xFF for b in raw[10:-2]), raw=raw)
    return total, frame


def decode_frame(raw: bytes) -> Frame:
    """Decode exactly one frame (optionally preceded by FE bytes); raises ``DecodeError``."""
    i = 0
    while i < len(raw) and raw[i] == PREAMBLE:
        i += 1
    if i >= len(raw) or raw[i] != START:
        raise DecodeError("header", "no 68H after the preamble", bytes(raw))
    total, res = _check_candidate(raw, i)
    if res is None:
        raise DecodeError("truncated", f"{len(raw) - i} bytes, frame needs {max(total, 12)}", bytes(raw))
    if isinstance(res, DecodeError):
        raise res
    if i + total != len(raw):
        raise DecodeError("length", f"{len(raw) - i - total} bytes after the end byte", bytes(raw))
    return Frame(address=res.address, control=res.control, data=res.data, raw=res.raw, n_fe=i)


class Decoder:
    """Streaming frame decoder. Feed it chunks; it keeps the unfinished tail between calls.

    Counters: ``frames`` accepted, ``rejected`` candidates, ``skipped`` noise/preamble bytes.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._fe = 0
        self.frames = 0
        self.rejected = 0
        self.skipped = 0

    @property
    def pending(self) -> int:
        """Bytes held back waiting for the rest of a frame."""
        return len(self._buf)

    def feed(self, chunk: bytes) -> list[Frame | DecodeError]:
        """Add bytes and return every complete frame and rejected candidate found, in order."""
        self._buf += chunk
        return self._drain(final=False)

    def flush(self) -> list[DecodeError | Frame]:
        """The line went quiet: drop the unfinished frame (reported as ``truncated``) and resync."""
        return self._drain(final=True)

    def reset(self) -> None:
        """Forget everything held (start of a new transaction)."""
        self._buf.clear()
        self._fe = 0

    def _drain(self, *, final: bool) -> list[Frame | DecodeError]:
        out: list[Frame | DecodeError] = []
        buf = self._buf
        i = 0
        n = len(buf)
        while i < n:
            j = buf.find(START, i)
            if j < 0:
                self._skip(buf, i, n)
                i = n
                break
            if j > i:
                self._skip(buf, i, j)
                i = j
            total, res = _check_candidate(buf, i)
            if res is None:  # incomplete: wait, unless a complete frame starts later or the line is quiet
                later = self._complete_after(buf, i)
                if final or later is not None:
                    self.rejected += 1
                    out.append(DecodeError("truncated", f"frame cut after {n - i} of {max(total, 12)} bytes",
                                           bytes(buf[i:later if later is not None else n])))
                    self._fe = 0
                    if later is not None:
                        self.skipped += later - i - 1
                        i = later
                        continue
                    i = n
                break
            if isinstance(res, Frame):
                self.frames += 1
                out.append(Frame(address=res.address, control=res.control, data=res.data, raw=res.raw,
                                 n_fe=self._fe))
                self._fe = 0
                i += total
            else:
                if res.kind != "header":
                    self.rejected += 1
                    out.append(res)
                self._fe = 0
                self.skipped += 1
                i += 1  # the length byte may be the corrupted one: resync right after this 68H
        del buf[:i]
        return out

    def _skip(self, buf: bytearray, i: int, j: int) -> None:
        self.skipped += j - i
        seg = bytes(buf[i:j])
        rest = seg.rstrip(bytes([PREAMBLE]))
        # a preamble split across chunks keeps counting; noise before it restarts the count
        self._fe = len(seg) - len(rest) + (0 if rest else self._fe)

    @staticmethod
    def _complete_after(buf: bytearray, i: int) -> int | None:
        """Start of a complete, valid frame after position ``i`` (a corrupted length byte at ``i``
        must not hide a good frame that already arrived)."""
        j = buf.find(START, i + 1)
        while j >= 0:
            _, res = _check_candidate(buf, j)
            if isinstance(res, Frame):
                return j
            j = buf.find(START, j + 1)
        return None
