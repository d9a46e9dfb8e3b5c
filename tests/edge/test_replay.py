"""Replay reader: parsing, validation by file, line and column, time batching, reordering, chunk boundaries,
progress. (Layouts, encodings, zones and units: tests/edge/imports.)"""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from detect.area import Area
from detect.quantities import quantity_code
from edge.replay import ReadingBatch, ReplayError, ReplayStats, read_batches

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc).timestamp()
AREA = Area.simple(id="A01", rated_kva=400, meter_ids=["0301", "0302", "0303"])


def _write(tmp_path: Path, rows: list[str], header: str = "ts,device,quantity,value") -> Path:
    p = tmp_path / "export.csv"
    p.write_text("\n".join([header, *rows]) + "\n")
    return p


def _all(path: Path, **kw: object) -> tuple[list[ReadingBatch], ReplayStats]:
    stats = ReplayStats()
    return list(read_batches(path, AREA, stats=stats, **kw)), stats  # type: ignore[arg-type]


def test_rfc3339_and_epoch_timestamps_parse_like_datetime() -> None:
    rng = np.random.default_rng(1)
    stamps = [datetime(1973, 3, 4, tzinfo=timezone.utc) + timedelta(seconds=int(s))   # epoch s >= 1e8
              for s in rng.integers(0, 125 * 365 * 86400, 300)]
    stamps += [datetime(2024, 2, 29, 23, 59, 59, tzinfo=timezone.utc), datetime(2100, 3, 1, tzinfo=timezone.utc)]
    rows = []
    for i, dt in enumerate(stamps):
        if i % 3 == 0:
            text = dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        elif i % 3 == 1:
            text = dt.astimezone(timezone(timedelta(hours=8))).isoformat()
        else:
            text = f"{dt.timestamp():.3f}"
        rows.append(f"{text},master,u_a,{i}")
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        batches, stats = _all(_write(Path(d), rows), batch_s=86400.0 * 365)
    assert stats.rejected == 0
    got = {int(v): t for b in batches for v, t in zip(b.value, b.ts, strict=True)}
    for i, dt in enumerate(stamps):
        assert got[i] == dt.timestamp(), (i, dt)


def test_fraction_of_second_and_lowercase_z_are_accepted(tmp_path: Path) -> None:
    batches, stats = _all(_write(tmp_path, ["2026-01-01T00:00:01.250z,0301,p,1.5"]))
    assert stats.rejected == 0 and batches[0].ts[0] == T0 + 1.25


def test_values_parse_exactly_like_float(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    texts = [f"{x:.2f}" for x in rng.uniform(-1e6, 1e8, 200)] + [
        "0", "-0.0", "1e3", "2.5E-3", "+7", "123456.789012345678", "0.000000000000000000000001", ".5", "5."]
    p = _write(tmp_path, [f"{T0:.0f},0301,u_a,{t}" for t in texts])
    batches, stats = _all(p)
    assert stats.rejected == 0
    np.testing.assert_array_equal(np.concatenate([b.value for b in batches]), [float(t) for t in texts])


def test_malformed_lines_are_counted_and_named_never_fatal(tmp_path: Path) -> None:
    rows = [
        f"{T0},0301,u_a,220.1",          # line 2 ok
        f"{T0},0399,u_a,220.1",          # 3 unknown device
        f"{T0},0301,volts,220.1",        # 4 unknown quantity ("voltage" would be u_a)
        f"{T0},0301,u_a,abc",            # 5 bad value
        f"{T0},0301,u_a,",               # 6 empty value
        f"{T0},0301,u_a,inf",            # 7 not finite
        f"{T0},0301,u_a",                # 8 three columns
        f"{T0},0301,u_a,1,2",            # 9 five columns
        "2026-01-01T08:00:00,0301,U_A,1",  # 10 naive local time (Asia/Shanghai by default), any case: ok
        "2026-02-30T00:00:00Z,0301,u_a,1",  # 11 no such day
        "yesterday,0301,u_a,1",          # 12
        "",                              # 13 blank: skipped silently
        f"{T0 + 60},master,i_n,3.5",     # 14 ok
        "\x00\xff garbage",              # 15
        ",,,",                           # 16 an empty row as Excel writes it: skipped
    ]
    batches, stats = _all(_write(tmp_path, rows))
    assert stats.accepted == 3
    assert dict(stats.errors) == {"unknown_device": 1, "unknown_quantity": 1, "bad_value": 3, "bad_columns": 3,
                                  "bad_ts": 2}
    name = str(tmp_path / "export.csv")
    assert stats.messages[0].startswith(f"{name}: line 3, column 2 (device): unknown device '0399'")
    assert any(m.startswith(f"{name}: line 4, column 3 (quantity): unknown quantity 'volts'; valid (any case): "
                            "u_a, u_b") for m in stats.messages)
    assert any(m.startswith(f"{name}: line 11, column 1 (ts): timestamp '2026-02-30T00:00:00Z'") for m in stats.messages)
    assert any(m.startswith(f"{name}: line 9: expected 4 columns (ts,device,quantity,value), found values beyond column 4")
               for m in stats.messages)
    assert any(m.startswith(f"{name}: line 6, column 4 (value): value '' is not a finite number") for m in stats.messages)
    b = batches[0]
    np.testing.assert_array_equal(b.device, [0, 0, AREA.master_index])
    np.testing.assert_array_equal(b.quantity, [quantity_code("u_a"), quantity_code("u_a"), quantity_code("i_n")])
    np.testing.assert_array_equal(b.ts, [T0, T0, T0 + 60])        # 08:00 in UTC+8 is T0


def test_a_file_without_the_columns_and_a_missing_file_raise_replay_error(tmp_path: Path) -> None:
    with pytest.raises(ReplayError, match=r"export.csv: no device column among \['time', 'dev', 'q', 'v'\]; name it"):
        list(read_batches(_write(tmp_path, ["1,2,3,4"], header="time,dev,q,v"), AREA))
    with pytest.raises(ReplayError, match="cannot open readings"):
        list(read_batches(tmp_path / "nope.csv", AREA))


def _stream(n: int, seed: int, jitter_s: float) -> list[tuple[float, str, str, float]]:
    rng = np.random.default_rng(seed)
    ts = T0 + np.sort(rng.uniform(0, 86400, n))
    shown = ts + rng.uniform(-jitter_s, jitter_s, n) * (rng.random(n) < 0.3)
    devs = rng.choice(["0301", "0302", "0303", "master"], n)
    return [(float(t), str(d), "u_a", float(i)) for i, (t, d) in enumerate(zip(shown, devs, strict=True))]


@pytest.mark.parametrize("chunk_bytes", [37, 4096, 8 << 20])
def test_out_of_order_rows_within_tolerance_come_out_sorted_in_windows(tmp_path: Path, chunk_bytes: int) -> None:
    rows = _stream(3000, 5, jitter_s=200)
    p = _write(tmp_path, [f"{t:.3f},{d},{q},{v:g}" for t, d, q, v in rows])
    batches, stats = _all(p, batch_s=900.0, reorder_s=300.0, chunk_bytes=chunk_bytes)
    assert stats.late == 0 and stats.accepted == 3000
    for b in batches:
        assert np.all(np.diff(b.ts) >= 0)
        assert np.all((b.ts >= b.t_start) & (b.ts < b.t_end)) and b.t_end - b.t_start == 900.0
        assert b.t_start % 900 == 0
    assert [b.t_end for b in batches] == sorted({b.t_end for b in batches})
    got = sorted(v for b in batches for v in b.value)
    assert got == sorted(r[3] for r in rows)


def test_rows_later_than_the_tolerance_are_kept_and_counted_late(tmp_path: Path) -> None:
    rows = [f"{T0 + k * 600},0301,u_a,{k}" for k in range(10)] + [f"{T0 + 10},0302,u_a,99"]
    batches, stats = _all(_write(tmp_path, rows), batch_s=900.0, reorder_s=60.0, chunk_bytes=64)
    assert stats.late == 1 and stats.accepted == 11
    late_batch = next(b for b in batches if 99.0 in b.value)
    assert late_batch.t_start > T0 + 10  # emitted with the next window, not lost


def test_progress_bar_is_drawn_on_the_given_stream(tmp_path: Path) -> None:
    err = io.StringIO()
    p = _write(tmp_path, [f"{T0},0301,u_a,1"])
    list(read_batches(p, AREA, progress=err))
    assert "replay [" in err.getvalue() and "100.0 %" in err.getvalue() and err.getvalue().endswith("\n")


def test_crlf_line_endings_and_byte_order_mark(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_bytes(b"\xef\xbb\xbfts,device,quantity,value\r\n" + f"{T0},0303,i_a,2.5\r\n".encode())
    batches, stats = _all(p)
    assert stats.rejected == 0 and batches[0].value[0] == 2.5 and batches[0].device[0] == 2


def test_scanner_parses_any_float_and_timestamp_like_python(tmp_path_factory: pytest.TempPathFactory) -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    d = tmp_path_factory.mktemp("prop")

    @settings(max_examples=150, deadline=None)
    @given(
        value=st.floats(allow_nan=False, allow_infinity=False, width=64),
        fmt=st.sampled_from(["{!r}", "{:.2f}", "{:.6g}", "{:e}", "{:.15g}"]),
        secs=st.integers(100_000_000, 4_000_000_000),  # epoch seconds before 1973 are no meter reading
        micro=st.integers(0, 999_999),
        zone_min=st.integers(-14 * 60, 14 * 60),
        as_epoch=st.booleans(),
    )
    def check(value: float, fmt: str, secs: int, micro: int, zone_min: int, as_epoch: bool) -> None:
        text = fmt.format(value)
        dt = datetime.fromtimestamp(secs, timezone.utc) + timedelta(microseconds=micro)
        tz = timezone(timedelta(minutes=zone_min))
        ts_text = f"{dt.timestamp():.6f}" if as_epoch else dt.astimezone(tz).isoformat()
        p = d / "p.csv"
        p.write_text(f"ts,device,quantity,value\n{ts_text},0301,u_a,{text}\n")   # no unit to detect
        stats = ReplayStats()
        got = list(read_batches(p, AREA, stats=stats))
        if not np.isfinite(float(text)):  # e.g. 1.79769313486232e+308 rounds to inf: not a reading
            assert dict(stats.errors) == {"bad_value": 1}
            return
        assert stats.rejected == 0, (ts_text, text, stats.messages)
        assert got[0].value[0] == float(text)
        assert abs(got[0].ts[0] - float(ts_text if as_epoch else dt.timestamp())) < 1e-6

    check()
