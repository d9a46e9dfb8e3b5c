"""Read planning: fewest requests within 125 registers and the gap limit; splitting after exceptions."""

from __future__ import annotations

import functools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.modbus.plan import MAX_READ_REGISTERS, one_request_per_point, plan_reads, split
from edge.modbus.profile import Point, load_profile


def pt(q: str, address: int, rtype: str = "float32", function: int = 3) -> Point:
    return Point(quantity=q, function=function, address=address, rtype=rtype, word_order="big", scale=1.0,
                 ratio="none", lo=-1e9, hi=1e9)


def spans(reqs: list) -> list[tuple[int, int, int]]:
    return [(r.function, r.address, r.count) for r in reqs]


def test_full_dtsu666_read_takes_two_requests() -> None:
    # 0x2006..0x2045 (U, I, P, Q, PF, f: 64 registers, largest gap 24) and 0x401E..0x4029 (energies)
    reqs = plan_reads(load_profile("dtsu666").points)
    assert spans(reqs) == [(3, 0x2006, 64), (3, 0x401E, 12)]


def test_two_is_the_minimum_for_dtsu666_because_its_blocks_are_8k_registers_apart() -> None:
    reqs = plan_reads(load_profile("dtsu666").points, max_gap=MAX_READ_REGISTERS)
    assert len(reqs) == 2


def test_small_max_gap_splits_dtsu666_at_the_power_factor_gap() -> None:
    reqs = plan_reads(load_profile("dtsu666").points, max_gap=16)
    assert spans(reqs) == [(3, 0x2006, 38), (3, 0x2044, 2), (3, 0x401E, 12)]


def test_shipped_profile_request_counts() -> None:
    assert {n: len(plan_reads(load_profile(n).points, max_gap=load_profile(n).max_gap or 32))
            for n in ("dtsu666", "sdm630", "dtsd1352", "ttu")} == {"dtsu666": 2, "sdm630": 2, "dtsd1352": 3, "ttu": 1}


def test_function_codes_are_never_mixed_in_one_request() -> None:
    reqs = plan_reads([pt("u_a", 0, function=3), pt("u_b", 2, function=4), pt("u_c", 4, function=3)])
    assert spans(reqs) == [(3, 0, 6), (4, 2, 2)]


def test_request_never_exceeds_125_registers() -> None:
    points = [pt("u_a", 0), pt("u_b", 60), pt("u_c", 124)]   # u_c would end at register 126
    reqs = plan_reads(points, max_gap=100)
    assert spans(reqs) == [(3, 0, 62), (3, 124, 2)]
    assert all(r.count <= MAX_READ_REGISTERS for r in reqs)


def test_a_value_ending_exactly_at_125_registers_fits() -> None:
    reqs = plan_reads([pt("u_a", 0), pt("u_b", 123)], max_gap=125)
    assert spans(reqs) == [(3, 0, 125)]


def test_gap_equal_to_max_gap_is_bridged_one_more_is_not() -> None:
    assert len(plan_reads([pt("u_a", 0), pt("u_b", 2 + 10)], max_gap=10)) == 1
    assert len(plan_reads([pt("u_a", 0), pt("u_b", 2 + 11)], max_gap=10)) == 2


def test_one_request_per_point_baseline() -> None:
    reqs = one_request_per_point(load_profile("dtsu666").points)
    assert len(reqs) == 15
    assert all(r.count == 2 and len(r.points) == 1 for r in reqs)


def test_split_halves_by_points_and_stops_at_one_point() -> None:
    (req,) = plan_reads([pt("u_a", 0), pt("u_b", 2), pt("u_c", 4), pt("f", 10, "uint16")])
    a, b = split(req)  # type: ignore[misc]
    assert (a.quantities, b.quantities) == (("u_a", "u_b"), ("u_c", "f"))
    assert spans([a, b]) == [(3, 0, 4), (3, 4, 7)]
    single = plan_reads([pt("u_a", 0)])[0]
    assert split(single) is None


def test_bad_limits_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"max_registers must be 1\.\.125, got 126"):
        plan_reads([pt("u_a", 0)], max_registers=126)
    with pytest.raises(ValueError, match="max_gap must be >= 0"):
        plan_reads([pt("u_a", 0)], max_gap=-1)


def _min_requests(addresses: list[tuple[int, int]], max_gap: int) -> int:
    """Exhaustive reference: fewest contiguous groups of the sorted points that satisfy both limits."""
    pts = sorted(addresses)

    @functools.cache
    def best(i: int) -> int:
        if i == len(pts):
            return 0
        result = 10 ** 9
        end = pts[i][0]
        for j in range(i, len(pts)):
            if j > i and pts[j][0] - end > max_gap:
                break
            end = max(end, pts[j][0] + pts[j][1])
            if end - pts[i][0] > MAX_READ_REGISTERS:
                break
            result = min(result, 1 + best(j + 1))
        return result

    return best(0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 600), st.sampled_from([1, 2])), min_size=1, max_size=14,
                unique_by=lambda t: t[0]),
       st.integers(0, 60))
def test_greedy_plan_is_as_small_as_the_exhaustive_minimum(raw: list[tuple[int, int]], max_gap: int) -> None:
    # drop overlapping points (a profile cannot have them)
    chosen: list[tuple[int, int]] = []
    for a, n in sorted(raw):
        if not chosen or a >= chosen[-1][0] + chosen[-1][1]:
            chosen.append((a, n))
    names = ["u_a", "u_b", "u_c", "i_a", "i_b", "i_c", "i_n", "p", "p_a", "p_b", "p_c", "q", "pf", "f"]
    points = [pt(names[i], a, "float32" if n == 2 else "uint16") for i, (a, n) in enumerate(chosen)]
    reqs = plan_reads(points, max_gap=max_gap)
    assert len(reqs) == _min_requests(chosen, max_gap)
    covered = sorted(q for r in reqs for q in r.quantities)
    assert covered == sorted(p.quantity for p in points)
    for r in reqs:
        assert r.count <= MAX_READ_REGISTERS
        assert all(r.address <= p.address and p.end <= r.address + r.count for p in r.points)
