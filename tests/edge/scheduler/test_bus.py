"""BusScheduler against the below-the-channel FakeReader, in virtual time."""

from __future__ import annotations

import asyncio
import itertools
import logging

import pytest

from edge.scheduler import (
    BackoffPolicy,
    BusScheduler,
    ClockPolicy,
    DeviceSpec,
    LinkTiming,
    LoopClock,
    ReadingPlan,
    bus_capacity,
)
from edge.scheduler.fake import FakeReader
from tests.edge.scheduler.harness import EPOCH0, Run, SteppingClock, meters, run_bus

CUSTOMER_Q = ("e_fwd", "u_a", "i_a", "i_n", "p", "pf", "sw3", "sw7")
MASTER_Q = ("u_a", "u_b", "u_c", "i_a", "i_b", "i_c", "i_n", "p", "q")


def customer_plan(interval_s: float = 60, priority: int = 2, quantities: tuple[str, ...] = CUSTOMER_Q,
                  **kw: float) -> ReadingPlan:
    return ReadingPlan(name="interval", class_name="customer", quantities=quantities, interval_s=interval_s,
                       priority=priority, **kw)  # type: ignore[arg-type]


def master_plan(priority: int = 0) -> ReadingPlan:
    return ReadingPlan(name="realtime", class_name="master", quantities=MASTER_Q, interval_s=5,
                       priority=priority, deadline_s=5)


MASTER = [DeviceSpec(device="master", class_name="master")]


def gaps(ts: list[float]) -> list[float]:
    ts = sorted(ts)
    return [b - a for a, b in itertools.pairwise(ts)]


# ---- priorities -------------------------------------------------------------------------------------


def test_master_realtime_reads_keep_their_cadence_on_a_saturated_bus():
    run = run_bus(MASTER + meters(64), [master_plan(), customer_plan()], 900)
    t = run.telemetry
    assert t is not None and t.rounds_overrun > 0          # the customers really saturate the bus
    longest_customer_tx = max(x.end - x.start for x in run.reader.log if x.device != "master")
    for q in MASTER_Q:
        g = gaps(run.readings_of("master", q))
        assert len(g) >= 170
        # a due master read waits at most for the one customer transaction already on the wire
        assert max(g) <= 5.0 + longest_customer_tx + 1e-6, (q, max(g))
    assert all(run.readings_of(m.device) for m in meters(64))  # and the customers are still served


def test_without_priority_the_master_is_starved_and_its_lateness_says_so():
    # The same bus with the master ranked below the customers: the cadence check above fails.
    run = run_bus(MASTER + meters(64), [master_plan(priority=9), customer_plan()], 900)
    assert len(run.readings_of("master", "u_a")) < 20
    t = run.telemetry
    assert t is not None and t.plans[0].rounds_overrun > 100 and t.plans[0].max_lateness_s > 800


def test_a_customer_meter_yields_to_the_master_between_its_transactions():
    run = run_bus(MASTER + meters(64), [master_plan(), customer_plan()], 300)
    runs = [dev for i, dev in enumerate(x.device for x in run.reader.log)
            if i == 0 or run.reader.log[i - 1].device != dev]          # consecutive transactions collapsed
    interleaved = [a for a, b, c in zip(runs, runs[1:], runs[2:], strict=False) if a == c != "master" and b == "master"]
    assert len(interleaved) >= 30     # ~ every master slot lands inside some meter's reads


def test_one_transaction_at_a_time_on_the_bus():
    run = run_bus(MASTER + meters(32), [master_plan(), customer_plan()], 600)
    log = run.reader.log
    assert len(log) > 1000
    assert all(b.start >= a.end for a, b in itertools.pairwise(log))


def test_a_customer_meter_finishes_its_reads_before_the_next_meter_starts():
    run = run_bus(meters(8), [customer_plan(interval_s=300)], 600)
    lengths: list[int] = []
    for i, x in enumerate(run.reader.log):
        if i and run.reader.log[i - 1].device == x.device:
            lengths[-1] += 1
        else:
            lengths.append(1)
    assert len(lengths) >= 16 and set(lengths) == {len(CUSTOMER_Q)}


# ---- dead devices -----------------------------------------------------------------------------------

BACKOFF = BackoffPolicy(silent_threshold=2, base_s=60, factor=2, max_s=900)


def test_dead_meter_is_backed_off_exponentially_with_single_probes():
    run = run_bus(meters(8), [customer_plan()], 3600, backoff=BACKOFF,
                  setup=lambda r: r.dead.add("m003"))
    tx = [x for x in run.reader.log if x.device == "m003"]
    assert all(not x.answered for x in tx)
    assert len(tx[0].quantities) == 1 and len(tx[1].quantities) == 1  # two tries, then it stops asking
    probes = tx[2:]
    assert all(len(p.quantities) == 1 for p in probes)                # a probe is one short read
    waits = gaps([p.start for p in [tx[1], *probes]])
    expected = [60, 120, 240, 480, 900, 900]
    assert len(waits) == len(expected)
    for got, want in zip(waits, expected, strict=True):
        assert want <= got <= want + 3.0, (waits, expected)
    t = run.telemetry
    assert t is not None and t.devices_backed_off == 1 and t.backed_off == ("m003",)


def test_backed_off_meter_is_reported_as_failed_every_round_not_dropped():
    run = run_bus(meters(8), [customer_plan()], 3600, backoff=BACKOFF, setup=lambda r: r.dead.add("m003"))
    reports = [b for b in run.batches if b.device == "m003"]
    skipped = [b for b in reports if b.failures and b.failures[0].reason.startswith("backed off")]
    assert len(skipped) >= 55                       # one report per 60-s slot
    assert all({f.quantity for f in b.failures} == set(CUSTOMER_Q) for b in skipped)
    t = run.telemetry
    assert t is not None and t.reads_skipped >= 55 * len(CUSTOMER_Q)


def test_dead_meter_barely_slows_the_live_ones():
    plans = [customer_plan(interval_s=30)]         # saturated: read rate is set by the wire
    healthy = run_bus(meters(64), plans, 3600, backoff=BACKOFF)
    dead = {f"m{i:03d}" for i in range(0, 64, 10)}
    sick = run_bus(meters(64), plans, 3600, backoff=BACKOFF, setup=lambda r: r.dead.update(dead))

    def readings(run: Run, devices: set[str] | None = None) -> int:
        return sum(len(b.readings) for b in run.batches if devices is None or b.device in devices)

    live = {m.device for m in meters(64)} - dead
    # the saturated wire is shared by all 64 when none is dead, by the 57 live ones otherwise: what the
    # live ones get must be nearly all of it (the rest is detection and probes)
    assert readings(sick, live) / readings(healthy) >= 0.95
    assert readings(sick, dead) == 0 and sick.telemetry is not None and sick.telemetry.reads_skipped > 0


def test_recovered_meter_is_read_again_at_once_not_at_its_next_slot():
    async def revive(run: Run) -> None:
        await run.clock.sleep(100)
        run.reader.dead.discard("m002")

    plan = customer_plan(interval_s=900)
    run = run_bus(meters(4), [plan], 1200, backoff=BACKOFF, setup=lambda r: r.dead.add("m002"), script=revive)
    probe_ok = next(x for x in run.reader.log if x.device == "m002" and x.answered)
    energy = [ts for ts in run.readings_of("m002", "e_fwd") if ts > EPOCH0 + 100]
    next_slot = plan.slot_at_or_before(probe_ok.end) + plan.interval_s
    assert probe_ok.start > EPOCH0 + 100
    assert energy and energy[0] < probe_ok.end + 10 < next_slot
    t = run.telemetry
    assert t is not None and t.devices_recovered == 1 and t.devices_backed_off == 0


def test_a_single_lost_reply_does_not_back_off_a_meter():
    class Flaky(FakeReader):
        lost = 0

        async def read(self, device, quantities):  # type: ignore[no-untyped-def]
            if device == "m001" and self.lost == 0:
                self.lost = 1
                self.dead.add(device)
                try:
                    return await super().read(device, quantities)
                finally:
                    self.dead.discard(device)
            return await super().read(device, quantities)

    run = run_bus(meters(4), [customer_plan(interval_s=300)], 280, reader_cls=Flaky)
    t = run.telemetry
    assert t is not None and t.devices_backed_off == 0 and t.reads_failed == 1
    first = next(b for b in run.batches if b.device == "m001")
    assert {r.quantity for r in first.readings} == set(CUSTOMER_Q) - {"e_fwd"}
    assert [f.quantity for f in first.failures] == ["e_fwd"] and "no reply" in first.failures[0].reason


# ---- overrun ----------------------------------------------------------------------------------------


def test_overrunning_rounds_are_counted_and_reported_with_their_lateness(caplog):
    caplog.set_level(logging.WARNING, logger="edge.scheduler.bus")
    run = run_bus(meters(64), [customer_plan(interval_s=60)], 900)
    t = run.telemetry
    assert t is not None
    plan = t.plans[0]
    assert plan.rounds_overrun >= 10 and t.rounds_overrun == plan.rounds_overrun
    assert plan.slots_coalesced > 0
    assert t.lateness_s is not None and t.lateness_s > 60
    assert any("overran its interval" in r.message and "rs485-1" in r.message for r in caplog.records)
    # nobody is skipped: every meter is read, and no meter falls more than one round behind another
    per_meter = [len(run.readings_of(m.device, "e_fwd")) for m in meters(64)]
    assert min(per_meter) >= 1 and max(per_meter) - min(per_meter) <= 1


def test_rounds_that_fit_are_on_time_and_take_the_planned_wire_time():
    timing = LinkTiming()
    plan = customer_plan(interval_s=60)
    run = run_bus(meters(16), [plan], 640, timing=timing)
    t = run.telemetry
    assert t is not None and t.rounds_overrun == 0 and t.lateness_s == 0.0
    planned = bus_capacity([plan], {"customer": 16}, timing).loads[0].round_s
    assert t.plans[0].last_round_time_s == pytest.approx(planned, rel=1e-3)
    assert t.utilisation == pytest.approx(planned / 60, rel=0.05)


def test_a_slow_meter_stretches_the_round_time_that_is_reported():
    plan = customer_plan(interval_s=60)
    base = run_bus(meters(8), [plan], 100).telemetry
    slow = run_bus(meters(8), [plan], 100, setup=lambda r: r.slow_s.update({"m004": 0.5})).telemetry
    assert base is not None and slow is not None
    assert base.plans[0].last_round_time_s is not None and slow.plans[0].last_round_time_s is not None
    assert slow.plans[0].last_round_time_s - base.plans[0].last_round_time_s == pytest.approx(8 * 0.5, abs=1e-6)


# ---- clock ------------------------------------------------------------------------------------------

CLOCK_PLAN = ReadingPlan(name="clock", class_name="customer", kind="clock", interval_s=3600, priority=4)


def _skew(r: FakeReader) -> None:
    r.drift_s.update({"m000": 120.0, "m001": -5.0, "m002": 0.0})


def test_clock_drift_is_measured_and_reported_without_time_sync_by_default():
    run = run_bus(meters(3), [customer_plan(interval_s=900), CLOCK_PLAN], 7300, setup=_skew)
    drifts = run.scheduler.clock_drifts()
    assert drifts["m000"] == pytest.approx(120, abs=1.0)
    assert drifts["m001"] == pytest.approx(-5, abs=1.0)
    t = run.telemetry
    rounds = t.plans[1].rounds_done if t else 0
    assert rounds == 3                   # start-up, then two hourly slots
    assert t is not None and t.clocks_over_limit == rounds and t.time_syncs == 0   # m000 in every round
    assert run.reader.broadcasts == []


def test_broadcast_time_sync_only_when_enabled_and_at_most_once_a_day():
    policy = ClockPolicy(time_sync="broadcast", sync_threshold_s=30)
    run = run_bus(meters(3), [customer_plan(interval_s=900), CLOCK_PLAN], 7300, setup=_skew, clock_policy=policy)
    assert len(run.reader.broadcasts) == 1
    assert run.scheduler.clock_drifts()["m000"] == pytest.approx(0, abs=1.0)   # the second check sees it fixed
    t = run.telemetry
    assert t is not None and t.time_syncs == 1


# ---- output -----------------------------------------------------------------------------------------


def test_full_queue_drops_the_oldest_batches_and_counts_them():
    run = run_bus(meters(8), [customer_plan(interval_s=60)], 300, queue_size=5, drain=False)
    t = run.telemetry
    assert t is not None
    kept = run.batches
    assert len(kept) == 5
    produced = t.queue_dropped + 5
    assert produced >= 8 * 4
    last_end = max(x.end for x in run.reader.log)
    assert max(r.ts for b in kept for r in b.readings) == pytest.approx(last_end)


def test_frozen_daily_readings_carry_the_freeze_time():
    daily = ReadingPlan(name="daily", class_name="customer", quantities=("e_fwd_daily",), interval_s=86_400)
    run = run_bus(meters(2), [daily], 60)
    ts = run.readings_of("m000", "e_fwd_daily")
    assert ts and all(t % 86_400 == 0 and t < EPOCH0 for t in ts)


def test_one_batch_per_device_and_slot_with_reply_arrival_times():
    run = run_bus(meters(2), [customer_plan(interval_s=60)], 100)
    b = [x for x in run.batches if x.device == "m000"]
    assert len(b) == 2 and all(x.ok and len(x.readings) == len(CUSTOMER_Q) for x in b)
    ends = {x.end for x in run.reader.log if x.device == "m000"}
    assert all(r.ts in ends for x in b for r in x.readings)


def test_a_broken_reply_is_a_failed_read_and_the_bus_keeps_going():
    class Broken(FakeReader):
        async def read(self, device, quantities):  # type: ignore[no-untyped-def]
            if device == "m001":
                raise ValueError("BCD nibble 0xC in 02010100")
            return await super().read(device, quantities)

    run = run_bus(meters(3), [customer_plan(interval_s=60)], 100, reader_cls=Broken)
    bad = [f for b in run.batches if b.device == "m001" for f in b.failures]
    assert bad and all("BCD nibble" in f.reason for f in bad)
    assert run.readings_of("m002")
    t = run.telemetry
    assert t is not None and t.devices_backed_off == 0


# ---- construction -----------------------------------------------------------------------------------


def _sched(devices: list[DeviceSpec], plans: list[ReadingPlan]) -> BusScheduler:
    import asyncio

    return BusScheduler(bus="rs485-1", reader=FakeReader(LoopClock(0.0)), devices=devices, plans=plans,
                        out=asyncio.Queue())


def test_a_device_without_a_plan_is_a_clear_error():
    with pytest.raises(ValueError, match=r'bus "rs485-1": device .m000. \(class .customer.\) has no reading plan'):
        _sched(meters(1), [master_plan()])


def test_a_device_listed_twice_is_a_clear_error():
    with pytest.raises(ValueError, match="listed twice"):
        _sched(meters(1) + meters(1), [customer_plan()])


def test_a_quantity_the_reader_cannot_read_names_the_device_and_plan():
    import asyncio

    class NoStatusWords(FakeReader):
        def split(self, device, quantities):  # type: ignore[no-untyped-def]
            raise KeyError("quantity 'sw7' has no register in profile dtsu666")

    with pytest.raises(ValueError, match=r"device 'm000' plan 'interval': .*'sw7'"):
        BusScheduler(bus="rs485-1", reader=NoStatusWords(LoopClock(0.0)), devices=meters(1),
                     plans=[customer_plan()], out=asyncio.Queue())


def test_health_entry_validates_against_the_health_schema():
    from wire.schemas import validate

    run = run_bus(meters(4), [customer_plan(interval_s=60)], 130, setup=lambda r: r.dead.add("m001"))
    t = run.telemetry
    assert t is not None
    payload = {"schema": "meterwatch.health/2", "msg_id": "gw-0042:1", "topic_seq": 1, "gateway": "gw-0042", "uptime_s": 130.0,
               "ts": "2026-11-23T00:00:00Z", "buses": [t.to_health()],
               "outbox": {"depth": 0, "bytes": 0, "dropped_summaries": 0, "dropped_alerts": 0}}
    assert validate(payload) == "health"
    entry = t.to_health()
    assert entry["devices_backed_off"] == 1 and entry["reads_ok"] > 0 and 0 < entry["utilisation"] <= 1


# ---- robustness -------------------------------------------------------------------------------------


def _step_clock_after(delay_s: float, step_s: float):  # type: ignore[no-untyped-def]
    async def script(run: Run) -> None:
        await asyncio.sleep(delay_s)          # loop (monotonic) time
        run.clock.step_s = step_s             # type: ignore[attr-defined]
    return script


def test_wall_clock_stepping_back_does_not_stall_the_master():
    run = run_bus(MASTER + meters(4), [master_plan(), customer_plan()], 200, clock_cls=SteppingClock,
                  script=_step_clock_after(60, -3600))
    realtime = [b for b in run.batches if b.device == "master"]
    assert len(realtime) >= 38          # ~40 slots of 5 s in 200 s of loop time


def test_wall_clock_stepping_forward_counts_the_lost_slots_and_goes_on():
    run = run_bus(MASTER + meters(4), [master_plan(), customer_plan()], 200, clock_cls=SteppingClock,
                  script=_step_clock_after(60, 86_400))
    t = run.telemetry
    assert t is not None
    realtime = next(p for p in t.plans if p.plan == "realtime")
    assert 86_400 / 5 - 2 <= realtime.rounds_overrun <= 86_400 / 5 + 2
    assert len([b for b in run.batches if b.device == "master"]) >= 38


def test_a_hung_client_call_is_cut_by_the_guard_and_backs_the_device_off():
    class Hangs(FakeReader):
        async def read(self, device, quantities):  # type: ignore[no-untyped-def]
            if device == "m001":
                await asyncio.Event().wait()
            return await super().read(device, quantities)

    run = run_bus(meters(3), [customer_plan(interval_s=60)], 300, reader_cls=Hangs)
    t = run.telemetry
    assert t is not None and t.backed_off == ("m001",)
    first = next(b for b in run.batches if b.device == "m001")
    assert first.failures and "no reply" in first.failures[0].reason
    assert len(run.readings_of("m002", "e_fwd")) >= 4


def test_a_round_running_past_its_deadline_shows_lateness_before_its_next_slot():
    plan = customer_plan(interval_s=900, deadline_s=60)
    run = run_bus(meters(64), [plan], 130, epoch0=1_700_000_100)   # at a slot; the round needs ~160 s
    t = run.telemetry
    assert t is not None and t.rounds_overrun == 0
    assert t.lateness_s == pytest.approx(70, abs=0.5)


def test_utilisation_is_measured_per_telemetry_window():
    snapshots = []

    async def snapshot_twice(run: Run) -> None:
        await asyncio.sleep(30)
        snapshots.append(run.scheduler.telemetry())     # closes window 1 (0..30 s)
        snapshots.append(run.scheduler.telemetry())     # nothing elapsed since

    # 8 meters, 60-s plan: ~20 s of wire per minute
    run = run_bus(meters(8), [customer_plan(interval_s=60)], 120, script=snapshot_twice,
                  epoch0=1_700_000_040)
    first, empty = snapshots
    assert first.utilisation == pytest.approx(20.2 / 30, rel=0.02)   # the first round, all in window 1
    assert empty.utilisation is None
    t = run.telemetry
    assert t is not None and t.utilisation == pytest.approx(20.2 / 90, rel=0.02)   # one round in 30..120 s


def test_a_starved_plan_does_not_grow_the_job_heap_without_bound():
    run = run_bus(MASTER + meters(64), [master_plan(priority=9), customer_plan(interval_s=30)], 3600)
    assert len(run.scheduler._heap) <= 4 * (64 + 1 + 65) + 64


def test_a_meter_that_died_does_not_trigger_time_sync_with_its_old_drift():
    async def kill_m000(run: Run) -> None:
        await asyncio.sleep(600)                 # after the start-up clock round and its broadcast
        run.reader.dead.add("m000")
        run.reader.drift_s["m000"] = 120.0       # it never took the broadcast

    policy = ClockPolicy(time_sync="broadcast", sync_threshold_s=30, sync_min_gap_s=3000)
    run = run_bus(meters(3), [customer_plan(interval_s=900), CLOCK_PLAN], 7300, setup=_skew, clock_policy=policy,
                  script=kill_m000)
    assert len(run.reader.broadcasts) == 1
    assert run.scheduler.clock_drifts()["m000"] == pytest.approx(120, abs=1.0)   # last known value kept


def test_probes_of_many_dead_meters_stay_within_the_probe_budget():
    dead = {f"m{i:03d}" for i in range(0, 64, 2)}          # half the bus is dead

    def probe_share(budget: float) -> float:
        policy = BackoffPolicy(base_s=60, max_s=300, probe_budget=budget)
        run = run_bus(meters(64), [customer_plan(interval_s=900)], 7200, backoff=policy,
                      setup=lambda r: r.dead.update(dead))
        start = EPOCH0 + 1800                               # after detection
        silent = sum(x.end - x.start for x in run.reader.log if not x.answered and x.start >= start)
        return silent / (7200 - 1800)

    assert 0 < probe_share(0.03) <= 0.03 * 1.1
    assert probe_share(1.0) > 0.08          # the plain exponential schedule alone: 32 x 0.9 s per 300 s


def test_a_clock_read_that_overruns_its_guard_is_reported_as_no_reply_not_an_empty_reason():
    """A timed-out await raises a ``TimeoutError`` whose text is empty: the device's last error said
    "clock read: " and nothing more."""
    run = run_bus(meters(3), [CLOCK_PLAN], 700, setup=lambda r: r.slow_s.update({"m001": 5.0}))
    errors = {name: err for name, _ok, err, *_ in run.scheduler.device_rows()}
    assert errors["m001"] == "clock read: no reply", errors
    assert errors["m000"] is None and errors["m002"] is None
