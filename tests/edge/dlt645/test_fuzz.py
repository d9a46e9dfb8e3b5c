"""Fuzz the streaming decoder with >= 10^6 random and mutated inputs.

Inputs are intact frames (with 0..4 FE), mutated frames (a flipped bit, a replaced byte, cut short,
a wrong length byte) and random noise, concatenated into one stream fed in large random-sized chunks.
The decoder must not raise, must return every intact frame, and every frame it returns must pass an
independent check (checksum, end byte, length, BCD address); a corrupted frame never yields a value.
"""

from __future__ import annotations

import random

import pytest

from edge.dlt645 import codec
from edge.dlt645.catalog import load_catalog
from edge.dlt645.codec import DecodeError, Decoder, Frame

N_INPUTS = 1_000_000


def _independent_check(raw: bytes) -> bool:
    if len(raw) < 12 or raw[0] != 0x68 or raw[7] != 0x68 or raw[-1] != 0x16:
        return False
    if raw[9] != len(raw) - 12 or sum(raw[:-2]) & 0xFF != raw[-2]:
        return False
    addr = raw[1:7]
    return not raw[8] & 0x80 or all((b >> 4) < 10 and (b & 15) < 10 for b in addr)


def _pool(rng: random.Random, n: int) -> list[bytes]:
    """Valid reply frames (no preamble) of real catalogue items with random values and addresses."""
    items = [it for it in load_catalog().items if it.fmt.kind == "bcd" and it.protocol == "2007"]
    out = []
    for _ in range(n):
        it = rng.choice(items)
        digits = it.fmt.nbytes * 2
        top = (8 * 10 ** (digits - 1) - 1) if it.fmt.signed else 10 ** digits - 1
        value = rng.randint(-top if it.fmt.signed else 0, top) * it.fmt.scale
        addr = f"{rng.randrange(10 ** 12):012d}"
        data = codec.di_bytes(it.di) + it.encode(value)
        out.append(codec.encode_frame(addr, rng.choice((0x91, 0x91, 0xB1, 0x81)), data, n_fe=0))
    return out


def _mutate(rng: random.Random, frame: bytes) -> tuple[bytes, bool]:
    """A corrupted copy, and whether the corruption is one the checksum must always catch."""
    b = bytearray(frame)
    kind = rng.randrange(4)
    if kind == 0:    # one flipped bit outside the length byte: the additive checksum always catches it
        k = rng.randrange(len(b) * 8)
        b[k // 8] ^= 1 << (k % 8)
        return bytes(b), k // 8 != 9
    elif kind == 1:  # one byte replaced by another value
        k = rng.randrange(len(b))
        b[k] = (b[k] + rng.randrange(1, 256)) & 0xFF
    elif kind == 2:  # cut short
        del b[rng.randrange(1, len(b)):]
    else:            # a length byte that lies
        b[9] = (b[9] + rng.randrange(1, 256)) & 0xFF
    return bytes(b), False


@pytest.mark.slow
def test_decoder_survives_a_million_random_and_mutated_inputs():
    rng = random.Random(645)
    pool = _pool(rng, 4000)
    noise = bytes(rng.randrange(256) for _ in range(1 << 16))
    pieces: list[bytes] = []
    intact: list[bytes] = []
    must_catch: set[bytes] = set()
    counts = {"intact": 0, "mutated": 0, "noise": 0}
    for _ in range(N_INPUTS):
        r = rng.random()
        if r < 0.3:
            f = rng.choice(pool)
            pieces.append(b"\xfe" * rng.randrange(5) + f)
            intact.append(f)
            counts["intact"] += 1
        elif r < 0.8:
            # a mutated frame is followed by a clean FE run so it cannot merge with its neighbour
            mutant, detectable = _mutate(rng, rng.choice(pool))
            if detectable:
                must_catch.add(mutant)
            pieces.append(mutant + b"\xfe" * 4)
            counts["mutated"] += 1
        else:
            k = rng.randrange(len(noise) - 40)
            pieces.append(noise[k:k + rng.randrange(1, 40)] + b"\xfe" * 4)
            counts["noise"] += 1
    stream = b"".join(pieces)

    dec = Decoder()
    frames: list[bytes] = []
    errors = 0
    pos = 0
    while pos < len(stream):
        step = rng.randrange(1, 1 << 16)
        for out in dec.feed(stream[pos:pos + step]):
            if isinstance(out, Frame):
                frames.append(out.raw)
            else:
                assert isinstance(out, DecodeError)
                errors += 1
        pos += step
    for out in dec.flush():
        if isinstance(out, Frame):
            frames.append(out.raw)

    bad = [f for f in frames if not _independent_check(f)]
    intact_set = set(intact)
    chance = [f for f in frames if f not in intact_set]  # well-formed by accident (valid CS and all)
    got_intact = [f for f in frames if f in intact_set]
    print(f"\nfuzz: {N_INPUTS} inputs ({counts}), {len(stream)} bytes, {len(frames)} frames, "
          f"{errors} rejected candidates, {len(chance)} chance-valid frames from noise/mutations")
    assert sum(counts.values()) >= 1_000_000
    assert bad == []                          # nothing that fails the checks ever comes out
    assert not must_catch.intersection(frames)  # no single-bit corruption ever gets through
    assert len(got_intact) >= len(intact) - 2 * len(chance)
    # an additive 8-bit checksum lets a rare cut/relength/noise candidate through by chance: rare
    assert len(chance) <= 1e-4 * (counts["mutated"] + counts["noise"])
    assert errors > counts["mutated"] // 2
