"""Field parsers of the scanner against Python's own: time formats, zones (fixed, DST gaps and overlaps),
thousands separators."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from edge.imports import _parse as P
from edge.imports.zones import ZoneError, parse_zone


def _b(text: str) -> np.ndarray:
    return np.frombuffer(text.encode(), dtype=np.uint8)


def _ts(text: str, zone: str = "Asia/Shanghai", mode: int = P.TIME_TEXT, shift: float = 0.0) -> tuple[float, int]:
    z = parse_zone(zone)
    raw = _b(text)
    v, st = P.timestamp(raw, 0, raw.size, mode, z.transitions, z.offsets, shift)
    return float(v), int(st)


T = datetime(2026, 7, 1, 0, 15, tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize(("text", "mode"), [
    ("2026-07-01T00:15:00Z", P.TIME_TEXT), ("2026-07-01T08:15:00+08:00", P.TIME_TEXT),
    ("2026-07-01 08:15:00+0800", P.TIME_TEXT), ("2026-07-01T08:15+08", P.TIME_TEXT),
    ("2026-07-01 08:15:00", P.TIME_TEXT), ("2026/7/1 8:15", P.TIME_TEXT), ("2026.07.01 08:15:00", P.TIME_TEXT),
    ("2026年7月1日 08:15", P.TIME_TEXT), (str(int(T)), P.TIME_TEXT), (str(int(T)), P.TIME_EPOCH_S),
    (str(int(T * 1000)), P.TIME_EPOCH_MS), ("202607010815", P.TIME_COMPACT), ("20260701081500", P.TIME_COMPACT),
    (repr((T + 8 * 3600) / 86400 + 25569), P.TIME_EXCEL),
])
def test_every_time_format_gives_the_same_instant(text: str, mode: int) -> None:
    v, st = _ts(text, mode=mode)
    assert st == P.OK and abs(v - T) < 1e-3, (text, v - T)


@pytest.mark.parametrize("text", ["2026-02-30 00:00:00", "2026-13-01", "2026-07-01 25:00", "2026-07-01T08:15:00+25:00",
                                  "yesterday", "", "1782864000000"])
def test_impossible_times_are_bad(text: str) -> None:
    assert _ts(text)[1] != P.OK


def test_epoch_modes_reject_the_other_magnitude() -> None:
    assert _ts(str(int(T * 1000)), mode=P.TIME_EPOCH_S)[1] == P.BAD      # ms read as s: year 58 000
    assert _ts(str(int(T)), mode=P.TIME_EPOCH_MS)[1] == P.BAD


def test_dates_are_local_midnight_plus_the_day_label_shift() -> None:
    assert _ts("2026-07-01", zone="UTC")[0] == datetime(2026, 7, 1, tzinfo=timezone.utc).timestamp()
    assert _ts("20260701", zone="+08:00", mode=P.TIME_COMPACT, shift=86400.0)[0] == \
        datetime(2026, 7, 2, tzinfo=timezone(timedelta(hours=8))).timestamp()


def test_local_times_follow_the_zone_database_and_dst_gaps_and_overlaps_are_refused() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    rng = np.random.default_rng(3)
    for secs in rng.integers(1_600_000_000, 1_900_000_000, 400).tolist():
        local = datetime.fromtimestamp(secs, berlin).replace(tzinfo=None)
        v, st = _ts(local.isoformat(sep=" "), zone="Europe/Berlin")
        if local.replace(tzinfo=berlin, fold=0).utcoffset() != local.replace(tzinfo=berlin, fold=1).utcoffset():
            assert st == P.AMBIGUOUS
        else:
            assert st == P.OK and v == secs, local
    assert _ts("2026-03-29 02:30:00", zone="Europe/Berlin")[1] == P.NONEXISTENT
    assert _ts("2026-10-25 02:30:00", zone="Europe/Berlin")[1] == P.AMBIGUOUS
    assert _ts("2026-10-25 02:30:00+01:00", zone="Europe/Berlin") == (
        datetime(2026, 10, 25, 1, 30, tzinfo=timezone.utc).timestamp(), P.OK)


def test_fixed_offsets_and_bad_zone_names() -> None:
    assert parse_zone("UTC+8").offsets.tolist() == [28800.0] and parse_zone("-05:30").offsets.tolist() == [-19800.0]
    assert parse_zone("Asia/Shanghai").offset_s(T) == 28800.0
    with pytest.raises(ZoneError, match="neither an IANA time zone"):
        parse_zone("Mars/Olympus")


@pytest.mark.parametrize(("text", "value"), [("1,234.5", 1234.5), ("12,345,678", 12345678.0), ("-1,000", -1000.0),
                                             ("1,5", None), ("1,23", None), ("1,2345", None), ("1.5,000", None)])
def test_thousands_separators_only_between_groups_of_three(text: str, value: float | None) -> None:
    v, st = P.number(_b(text), 0, len(text), ord(","))
    assert (st == P.OK and v == value) if value is not None else st == P.BAD
