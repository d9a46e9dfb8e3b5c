"""The snapshot blob: exact round trip, and blobs written by earlier versions still restore."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from detect.snapshot import MAGIC, SNAPSHOT_VERSION, pack, unpack


def _arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(5)
    return {"ring": rng.normal(size=(96, 300)).astype(np.float32), "count": np.arange(7, dtype=np.int64),
            "flags": rng.random(300) > 0.5, "nan": np.array([np.nan, 1.5, -np.inf])}


def test_pack_unpack_is_exact_for_every_dtype() -> None:
    header = {"version": SNAPSHOT_VERSION, "area": "A01"}
    got_header, got = unpack(pack(header, _arrays()))
    assert got_header == header
    want = _arrays()
    assert set(got) == set(want)
    for k, a in want.items():
        assert got[k].dtype == a.dtype and got[k].shape == a.shape, k
        np.testing.assert_array_equal(got[k], a)


def test_a_blob_written_by_np_savez_compressed_still_unpacks() -> None:
    """Gateways upgraded from a version that used np.savez_compressed keep their state."""
    header = {"version": SNAPSHOT_VERSION, "area": "A01"}
    payload = dict(_arrays())
    payload["__header__"] = np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    np.savez_compressed(buf, allow_pickle=False, **payload)
    got_header, got = unpack(MAGIC + buf.getvalue())
    assert got_header == header
    np.testing.assert_array_equal(got["ring"], _arrays()["ring"])


def test_pack_is_smaller_than_the_raw_arrays_and_corruption_is_refused() -> None:
    blob = pack({"version": SNAPSHOT_VERSION}, {"zeros": np.zeros(100_000)})
    assert len(blob) < 100_000 * 8 / 20
    with pytest.raises(ValueError, match="corrupt"):
        unpack(blob[:len(blob) // 2])
