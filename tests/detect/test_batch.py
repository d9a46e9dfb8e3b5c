"""ReadingBatch construction and its errors."""

from __future__ import annotations

import numpy as np
import pytest

from detect.batch import ReadingBatch
from tests.detect.sim import make_area


def test_from_records_maps_names_to_indices_and_codes() -> None:
    area = make_area(n=3)
    b = ReadingBatch.from_records(["m001", "master"], ["u_a", "e_fwd"], [230.0, 5.0], [1.0, 2.0], area)
    assert b.device.tolist() == [1, 3] and b.quantity.tolist() == [0, 14]
    assert b.device.dtype == np.int32 and b.quantity.dtype == np.int16 and b.ts.dtype == np.float64


def test_unknown_device_and_quantity_are_named() -> None:
    area = make_area(n=3)
    with pytest.raises(KeyError, match="unknown device 'm999'"):
        ReadingBatch.from_records(["m999"], ["u_a"], [1.0], [1.0], area)
    with pytest.raises(KeyError, match="unknown quantity 'volts'"):
        ReadingBatch.from_records(["m001"], ["volts"], [1.0], [1.0], area)


def test_columns_are_checked() -> None:
    with pytest.raises(ValueError, match="column value has shape"):
        ReadingBatch.from_columns([0, 1], [0, 0], [1.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="quantity code 99"):
        ReadingBatch.from_columns([0], [99], [1.0], [1.0])
    with pytest.raises(ValueError, match="device index 7"):
        ReadingBatch.from_columns([7], [0], [1.0], [1.0], n_devices=4)
    with pytest.raises(ValueError, match="finite"):
        ReadingBatch.from_columns([0], [0], [1.0], [np.nan])
