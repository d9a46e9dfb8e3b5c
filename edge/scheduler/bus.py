"""The bus scheduler: one per port, one transaction at a time, the wire used fully and fairly.

Every (device, plan) pair is a job. When a plan's slot begins, its round opens and every device of the
plan's class gets a job. Between two transactions the scheduler picks the most urgent active job:
lowest ``priority`` first, then a job already in progress (so one meter's readings stay close in time),
then the earliest deadline, then the device whose data is oldest (round robin under overload). A long
customer round therefore yields to a due master read after at most one transaction.

Overrun: if a round is still unfinished when its next slot begins, it is counted (``rounds_overrun``),
logged with how late it is and how many devices are left, and those devices' jobs are carried into the
new slot (``slots_coalesced``) rather than read twice: reads always return current values, so a second
read of the same meter would only delay everyone else. Nothing is skipped silently.

Dead devices: see ``BackoffPolicy``. Reads of a backed-off device are answered at once with failures
(reason "backed off ...") so the pipeline still sees, per slot, which devices were not read.

Port failure: a ``PortError`` from the reader (the port, not a device, failed) is nobody's silence: it
ends ``run()`` with the transaction still pending, and the ``PortSupervisor`` reopens the port and calls
``run()`` again. The rounds carry on from where they were; slots that passed meanwhile are counted as
overruns, as any slot that could not be served.

On-demand reads (``meterwatch read`` on a port the daemon owns) are slotted in between two
transactions, before the next scheduled one (``edge.scheduler.slots``): they cost their wire time and
nothing else.

Output: one ``DeviceRead`` per device per plan slot into ``out`` (bounded). When ``out`` is full the
oldest batch is dropped and counted (``queue_dropped``): the bus must keep moving, and the freshest
data is worth more to live detection than a backlog the engine cannot absorb.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from edge.errors import PortError, TransportError
from edge.readings import DeviceRead, Failure
from edge.scheduler.clock import Clock, WallClock
from edge.scheduler.plans import BackoffPolicy, ClockPolicy, DeviceSpec, ReadingPlan
from edge.scheduler.reader import DeviceReader
from edge.scheduler.slots import ExclusiveSlots
from edge.scheduler.telemetry import BusTelemetry, PlanTelemetry, _Counters
from edge.timeouts import within

__all__ = ["BusScheduler"]

log = logging.getLogger(__name__)


@dataclass(slots=True, eq=False)
class _Job:
    device: str
    plan: ReadingPlan
    groups: list[tuple[str, ...]]
    round: _Round | None          # None for probes
    seq: int
    probe: bool = False
    active: bool = False
    slot: float = 0.0
    due: float = 0.0
    deadline: float = 0.0
    cursor: int = 0
    result: DeviceRead | None = None
    missed: bool = False          # last slot not read because of back-off: re-read on recovery
    last_done: float = -math.inf  # when this job last finished: under overload the oldest data goes first
    version: int = 0              # bumped whenever the job is (re)queued with a new key

    def key(self) -> tuple[int, int, float, float, int]:
        return (self.plan.priority, 0 if self.cursor else 1, self.deadline, self.last_done, self.seq)


@dataclass(slots=True, eq=False)
class _Round:
    plan: ReadingPlan
    jobs: dict[str, _Job] = field(default_factory=dict)
    slot: float = 0.0
    ref: float = 0.0              # when the round's work began: its slot, an older carried-over due
                                  # time, or the scheduler start
    first: bool = False           # the round opened at start-up (mid-slot)
    last_warned: float = -math.inf
    next_slot: float = math.inf
    pending: set[str] = field(default_factory=set)
    done: int = 0
    overrun: int = 0
    coalesced: int = 0
    last_round_time_s: float | None = None
    last_lateness_s: float | None = None
    max_lateness_s: float = 0.0


@dataclass(slots=True, eq=False)
class _Device:
    spec: DeviceSpec
    silent: int = 0               # consecutive transactions without a reply
    backed_off: bool = False
    probes_failed: int = 0
    next_probe: float = math.inf
    probe: _Job | None = None
    silence_cost_s: float = 0.0   # wire time the last unanswered transaction cost
    last_ok: float | None = None  # clock time of the last transaction it answered
    last_error: str | None = None  # the last failure (silence, error reply, bad value), kept after recovery
    last_error_ts: float | None = None
    changed: int = 0              # the scheduler's change count when any of the above last changed


class BusScheduler:
    """Owns one port. ``await run()`` until cancelled; ``telemetry()`` at any time."""

    def __init__(self, *, bus: str, reader: DeviceReader, devices: Sequence[DeviceSpec],
                 plans: Sequence[ReadingPlan], out: asyncio.Queue[DeviceRead], clock: Clock | None = None,
                 backoff: BackoffPolicy | None = None, clock_policy: ClockPolicy | None = None,
                 guard_factor: float = 3.0, guard_s: float = 2.0) -> None:
        self.bus = bus
        self._reader = reader
        self._out = out
        self._clock: Clock = clock or WallClock()
        self._backoff = backoff or BackoffPolicy()
        self._clock_policy = clock_policy or ClockPolicy()
        self._guard = (guard_factor, guard_s)
        self._c = _Counters()
        self.slots = ExclusiveSlots(self._clock)   # on-demand reads, between two transactions
        self.changes = 0              # device state changes so far: live views ask for what changed since
        self._seq = 0
        # Active jobs in a heap with lazy invalidation: a job whose key changes is pushed again with a
        # new version and stale entries are dropped when they reach the top (2000 meters stay cheap).
        self._heap: list[tuple[tuple[int, int, float, float, int], int, _Job]] = []
        self._last_sync = -math.inf
        self._sync_due = False
        self._round_drifts: dict[str, float] = {}
        self._t0 = self._window_start = self._window_busy = 0.0
        self._started = False
        self._resuming = False        # run() again after the port was reopened
        self._devices: dict[str, _Device] = {}
        for spec in devices:
            if spec.device in self._devices:
                raise ValueError(f'bus "{bus}": device {spec.device!r} listed twice')
            self._devices[spec.device] = _Device(spec=spec)
        self._rounds: list[_Round] = []
        for plan in plans:
            rnd = _Round(plan=plan)
            for dev in self._devices.values():
                if dev.spec.class_name == plan.class_name:
                    job = self._new_job(dev.spec.device, plan, rnd)
                    if job is None:
                        # e.g. a TTU profile without daily frozen energy: that plan is not for this device
                        log.info('bus "%s": device %s has none of plan %s\'s quantities; plan skipped for it',
                                 bus, dev.spec.device, plan.name)
                        continue
                    rnd.jobs[dev.spec.device] = job
            if rnd.jobs:
                self._rounds.append(rnd)
        self._n_jobs = sum(len(r.jobs) for r in self._rounds) + len(self._devices)
        for dev in self._devices.values():
            if not any(dev.spec.device in r.jobs for r in self._rounds):
                raise ValueError(f'bus "{bus}": device {dev.spec.device!r} (class {dev.spec.class_name!r}) '
                                 f"has no reading plan")
            dev.probe = self._probe_job(dev)

    # ---- construction -------------------------------------------------------------------------------

    def _new_job(self, device: str, plan: ReadingPlan, rnd: _Round | None, *, probe: bool = False) -> _Job | None:
        """The device's job for ``plan``; None when the reader has none of the plan's quantities for it."""
        if plan.kind == "clock":
            groups: list[tuple[str, ...]] = [()]
        else:
            try:
                groups = self._reader.split(device, plan.quantities)
            except KeyError as exc:
                raise ValueError(f'bus "{self.bus}": device {device!r} plan {plan.name!r}: {exc}') from None
            if not groups:
                return None
        self._seq += 1
        return _Job(device=device, plan=plan, groups=groups, round=rnd, seq=self._seq, probe=probe)

    def _probe_job(self, dev: _Device) -> _Job:
        """The cheapest transaction among the device's plans, at its most urgent priority."""
        jobs = [r.jobs[dev.spec.device] for r in self._rounds if dev.spec.device in r.jobs]
        priority = min(j.plan.priority for j in jobs)
        groups = [g for j in jobs if j.plan.kind == "read" for g in j.groups]
        if groups:
            cheapest = min(groups, key=lambda g: self._reader.estimate_s(dev.spec.device, g))
            plan = ReadingPlan(name="probe", class_name=dev.spec.class_name, quantities=cheapest,
                               interval_s=1.0, priority=priority)
        else:
            plan = ReadingPlan(name="probe", class_name=dev.spec.class_name, kind="clock", interval_s=1.0,
                               priority=priority)
        job = self._new_job(dev.spec.device, plan, None, probe=True)
        assert job is not None  # built from groups the reader already gave for this device
        return job

    # ---- main loop ----------------------------------------------------------------------------------

    async def run(self) -> None:
        """Poll the bus until cancelled, or until the port fails (``PortError``); call again to resume."""
        now = self._clock.now()
        if not self._started:
            self._started = True
            self._t0 = self._window_start = now
            for rnd in self._rounds:
                slot = rnd.plan.slot_at_or_before(now)
                self._open_round(rnd, slot, now=now, first=True)
                rnd.next_slot = slot + rnd.plan.interval_s
        else:
            self._resuming = True
        while True:
            now = self._clock.now()
            self._tick(now)
            if self.slots:
                self._c.busy_s += await self.slots.serve()
                continue
            if self._sync_due:
                await self._broadcast()
                continue
            job = self._pick()
            if job is None:
                # Re-check at least every 5 s so that a wall-clock step is noticed promptly.
                await self.slots.idle(min(self._next_wake() - now, 5.0))
                continue
            await self._step(job)

    def _tick(self, now: float) -> None:
        for rnd in self._rounds:
            interval = rnd.plan.interval_s
            if rnd.next_slot - now > interval:
                # The wall clock stepped back (NTP at boot): re-align instead of waiting out the step.
                log.warning('bus "%s" plan %s/%s: clock stepped back; slots re-aligned', self.bus,
                            rnd.plan.class_name, rnd.plan.name)
                rnd.next_slot = rnd.plan.slot_at_or_before(now) + interval
            elif rnd.next_slot + interval <= now:
                # Stepped forward, the gateway was suspended or the port was down: open only the newest
                # slot; the slots in between could not be served by anyone and are counted as overruns.
                latest = rnd.plan.slot_at_or_before(now)
                missed = round((latest - rnd.next_slot) / interval)
                rnd.overrun += missed
                why = "the port was unavailable" if self._resuming else "clock step or suspend"
                log.log(logging.INFO if self._resuming else logging.WARNING,
                        'bus "%s" plan %s/%s: %d slots passed without the scheduler running (%s)',
                        self.bus, rnd.plan.class_name, rnd.plan.name, missed, why)
                rnd.next_slot = latest
            if rnd.next_slot <= now:
                self._open_round(rnd, rnd.next_slot, now=now)
                rnd.next_slot += interval
        self._resuming = False
        backed = [d for d in self._devices.values() if d.backed_off]
        if not backed:
            return
        # Bounded even if the wall clock stepped back (the longest delay _probe_delay_s can give).
        max_wait = max(self._backoff.max_s, sum(d.silence_cost_s for d in backed) / self._backoff.probe_budget)
        for dev in backed:
            dev.next_probe = min(dev.next_probe, now + max_wait)
            if dev.next_probe <= now and dev.probe and not dev.probe.active:
                self._activate(dev.probe, slot=dev.next_probe, due=dev.next_probe, deadline=dev.next_probe)

    def _next_wake(self) -> float:
        wake = min((r.next_slot for r in self._rounds), default=math.inf)
        probes = (d.next_probe for d in self._devices.values() if d.backed_off)
        return min(wake, min(probes, default=math.inf))

    def _activate(self, job: _Job, *, slot: float, due: float, deadline: float) -> None:
        job.active = True
        job.slot, job.due, job.deadline = slot, due, deadline
        job.cursor = 0
        job.result = DeviceRead(device=job.device)
        self._push(job)

    def _push(self, job: _Job) -> None:
        job.version += 1
        heapq.heappush(self._heap, (job.key(), job.version, job))
        if len(self._heap) > 4 * self._n_jobs + 64:
            # Stale entries of a starved plan would otherwise pile up below the top: compact.
            self._heap = [e for e in self._heap if e[2].active and e[1] == e[2].version]
            heapq.heapify(self._heap)

    def _pick(self) -> _Job | None:
        heap = self._heap
        while heap:
            _, version, job = heap[0]
            if job.active and version == job.version:
                return job
            heapq.heappop(heap)
        return None

    def _open_round(self, rnd: _Round, slot: float, *, now: float, first: bool = False) -> None:
        deadline_s = rnd.plan.effective_deadline_s
        late = now - (rnd.ref + deadline_s)
        if rnd.pending and rnd.first and late <= 0:
            # The scheduler started mid-slot: this first round had less than an interval and is not late.
            log.info('bus "%s" plan %s/%s: first round still running when the next slot began (%d devices '
                     "left)", self.bus, rnd.plan.class_name, rnd.plan.name, len(rnd.pending))
        elif rnd.pending:
            rnd.overrun += 1
            rnd.max_lateness_s = max(rnd.max_lateness_s, late)
            # Counted every time; logged at most once a minute per plan so a 5-s plan cannot flood the log.
            if self._resuming:      # not the bus's load: the supervisor already said why
                log.info('bus "%s" plan %s/%s: %d of %d devices not read while the port was unavailable; '
                         "they are read first now", self.bus, rnd.plan.class_name, rnd.plan.name,
                         len(rnd.pending), len(rnd.jobs))
            elif now - rnd.last_warned >= 60.0:
                log.warning('bus "%s" plan %s/%s: round of slot %.0f overran its interval: %d of %d devices '
                            "not read yet (%.1f s past deadline; %d overruns so far); they are read first "
                            "in the next round", self.bus, rnd.plan.class_name, rnd.plan.name, rnd.slot,
                            len(rnd.pending), len(rnd.jobs), late, rnd.overrun)
                rnd.last_warned = now
        # A round's work starts at its slot, or earlier for devices carried over from an overrun round
        # (their wait counts), never before the scheduler started.
        late_start = bool(rnd.pending) and not (rnd.first and late <= 0)
        carried = [j.due for j in rnd.jobs.values() if j.active] if late_start else []
        rnd.slot, rnd.first = slot, first
        rnd.ref = max(min([slot, *carried]), self._t0)
        rnd.pending = set(rnd.jobs)
        if rnd.plan.kind == "clock":
            self._round_drifts = {}
        deadline = max(slot, self._t0) + deadline_s
        for job in rnd.jobs.values():
            if job.active:      # carried over from an overrun round: keeps its place and its progress
                rnd.coalesced += 1
                job.slot, job.deadline = slot, deadline
                self._push(job)
            else:
                self._activate(job, slot=slot, due=slot, deadline=deadline)

    # ---- one transaction ----------------------------------------------------------------------------

    def _guard_s(self, estimate_s: float) -> float:
        factor, extra = self._guard
        return estimate_s * factor + extra

    async def _step(self, job: _Job) -> None:
        dev = self._devices[job.device]
        if dev.backed_off and not job.probe:
            self._skip_rest(job, self._clock.now(), f"backed off: no reply since {dev.silent} tries; "
                                                    f"next probe in {dev.next_probe - self._clock.now():.0f} s")
            job.missed = True
            self._finish(job, self._clock.now())
            return
        if job.probe:
            self._c.probes += 1
        if job.plan.kind == "clock":
            await self._clock_step(job, dev)
            return
        group = job.groups[job.cursor]
        assert job.result is not None
        t0 = self._clock.now()
        silent_reason = None
        estimate_s = self._reader.estimate_s(job.device, group)
        try:
            dr = await within(self._reader.read(job.device, group), self._guard_s(estimate_s))
        except PortError:
            self._c.busy_s += self._clock.now() - t0
            raise           # the transaction stays pending; the port is reopened and it goes first
        except (TransportError, TimeoutError, asyncio.TimeoutError) as exc:
            silent_reason = str(exc) or f"no reply from {job.device!r}"
            dr = DeviceRead(device=job.device)
        except Exception as exc:  # a broken reply or a client bug must not stop the bus
            log.warning('bus "%s" device %r: read %s failed: %r', self.bus, job.device, group, exc)
            dr = DeviceRead(device=job.device, failures=[
                Failure(device=job.device, quantity=q, reason=f"{type(exc).__name__}: {exc}", ts=self._clock.now())
                for q in group])
        t1 = self._clock.now()
        self._c.busy_s += t1 - t0
        job.cursor += 1
        if silent_reason is not None:
            self._c.reads_failed += 1
            dev.last_error, dev.last_error_ts = silent_reason, t1
            job.result.failures.extend(Failure(device=job.device, quantity=q, reason=silent_reason, ts=t1,
                                               silent=True)
                                       for q in group)
            self._on_silent(job, dev, t1, cost_s=t1 - t0)
        else:
            if dr.failures or not dr.readings:
                self._c.reads_failed += 1
                dev.last_error = dr.failures[0].reason if dr.failures else "empty reply"
                dev.last_error_ts = t1
            else:
                self._c.reads_ok += 1
                self._c.useful_s += estimate_s
            self._c.readings += len(dr.readings)
            job.result.readings.extend(dr.readings)
            job.result.failures.extend(dr.failures)
            self._on_answer(job, dev, t1)
        if job.active and job.cursor >= len(job.groups):
            self._finish(job, t1)
        elif job.active and job.cursor == 1:
            self._push(job)     # now "in progress": its key improved

    async def _clock_step(self, job: _Job, dev: _Device) -> None:
        t0 = self._clock.now()
        try:
            meter_ts = await within(self._reader.read_clock(job.device),
                                    self._guard_s(self._reader.clock_estimate_s(job.device)))
        except PortError:
            self._c.busy_s += self._clock.now() - t0
            raise
        except (TransportError, TimeoutError, asyncio.TimeoutError) as exc:
            t1 = self._clock.now()
            self._c.busy_s += t1 - t0
            self._c.reads_failed += 1
            job.cursor += 1
            why = str(exc) or "no reply"           # a timed-out await's TimeoutError has no text
            log.info('bus "%s" device %r: clock read: %s', self.bus, job.device, why)
            dev.last_error, dev.last_error_ts = f"clock read: {why}", t1
            self._on_silent(job, dev, t1, cost_s=t1 - t0)
        except Exception as exc:
            t1 = self._clock.now()
            self._c.busy_s += t1 - t0
            self._c.reads_failed += 1
            job.cursor += 1
            log.warning('bus "%s" device %r: clock read failed: %r', self.bus, job.device, exc)
            dev.last_error, dev.last_error_ts = f"clock read failed: {exc}", t1
            self._touch(dev)
        else:
            t1 = self._clock.now()
            self._c.busy_s += t1 - t0
            self._c.reads_ok += 1
            self._c.useful_s += self._reader.clock_estimate_s(job.device)
            job.cursor += 1
            drift = meter_ts - t1     # meter minus gateway at reply arrival; + = meter runs ahead
            self._c.drifts[job.device] = drift
            self._round_drifts[job.device] = drift
            if abs(drift) > self._clock_policy.drift_limit_s:
                self._c.clocks_over_limit += 1
                log.warning('bus "%s" meter %r: clock off by %+.0f s (limit %.0f s)', self.bus, job.device,
                            drift, self._clock_policy.drift_limit_s)
            self._on_answer(job, dev, t1)
        if job.active:
            self._finish(job, self._clock.now())

    def _touch(self, dev: _Device) -> None:
        self.changes += 1
        dev.changed = self.changes

    def _on_answer(self, job: _Job, dev: _Device, t: float) -> None:
        dev.silent = 0
        dev.last_ok = t
        self._touch(dev)
        if dev.backed_off:
            dev.backed_off = False
            dev.probes_failed = 0
            dev.next_probe = math.inf
            self._c.recovered += 1
            log.info('bus "%s" device %r answers again: reading all its plans now', self.bus, job.device)
            for rnd in self._rounds:
                other = rnd.jobs.get(job.device)
                if other is not None and other.missed and not other.active:
                    other.missed = False
                    self._activate(other, slot=rnd.slot, due=t, deadline=t + rnd.plan.effective_deadline_s)

    def _on_silent(self, job: _Job, dev: _Device, t: float, *, cost_s: float) -> None:
        dev.silent += 1
        self._touch(dev)
        dev.silence_cost_s = cost_s
        if job.probe:
            dev.probes_failed += 1
            dev.next_probe = t + self._probe_delay_s(dev)
        elif not dev.backed_off and dev.silent >= self._backoff.silent_threshold:
            dev.backed_off = True
            dev.probes_failed = 0
            dev.next_probe = t + self._probe_delay_s(dev)
            log.warning('bus "%s" device %r: no reply %d times in a row; backing off, probe in %.0f s',
                        self.bus, job.device, dev.silent, dev.next_probe - t)
        if dev.backed_off and job.active:
            self._skip_rest(job, t, f"not read: {job.device!r} stopped answering; backed off")
            job.missed = not job.probe
            self._finish(job, t)

    def _probe_delay_s(self, dev: _Device) -> float:
        """Exponential back-off, stretched so that probing all backed-off devices together stays within
        ``probe_budget`` of the wire: many dead meters on one bus must not add up to a stall."""
        cost = sum(d.silence_cost_s for d in self._devices.values() if d.backed_off)
        return max(self._backoff.delay_s(dev.probes_failed), cost / self._backoff.probe_budget)

    def _skip_rest(self, job: _Job, t: float, reason: str) -> None:
        """The job's remaining transactions, not sent because the device is silent (``Failure.silent``)."""
        assert job.result is not None
        rest = [q for g in job.groups[job.cursor:] for q in g]
        self._c.reads_skipped += len(job.groups) - job.cursor
        job.result.failures.extend(Failure(device=job.device, quantity=q, reason=reason, ts=t, silent=True)
                                   for q in rest)
        job.cursor = len(job.groups)

    def _finish(self, job: _Job, t: float) -> None:
        job.active = False
        job.last_done = t
        # A failed probe is not reported: the device's slots already say "backed off".
        if job.result is not None and (job.result.readings or (job.result.failures and not job.probe)):
            self._emit(job.result)
        job.result = None
        rnd = job.round
        if rnd is None or job.device not in rnd.pending:
            return
        rnd.pending.discard(job.device)
        if not rnd.pending:
            rnd.done += 1
            rnd.last_round_time_s = t - rnd.ref
            late = max(0.0, t - (rnd.ref + rnd.plan.effective_deadline_s))
            rnd.last_lateness_s = late
            rnd.max_lateness_s = max(rnd.max_lateness_s, late)
            if rnd.plan.kind == "clock":
                self._after_clock_round(t)

    def _after_clock_round(self, t: float) -> None:
        pol = self._clock_policy
        if pol.time_sync != "broadcast" or t - self._last_sync < pol.sync_min_gap_s:
            return
        drifts = self._round_drifts   # only meters that answered this round, not stale values
        if not any(abs(d) > pol.sync_threshold_s for d in drifts.values()):
            return
        self._last_sync = t
        self._c.time_syncs += 1
        log.info('bus "%s": broadcasting time sync (largest drift %+.0f s)', self.bus,
                 max(drifts.values(), key=abs))
        self._sync_due = True

    async def _broadcast(self) -> None:
        # Sent from the main loop between transactions: the broadcast is a transaction too.
        self._sync_due = False
        t0 = self._clock.now()
        try:
            await within(self._reader.broadcast_time(t0), self._guard_s(0.5))
        except PortError:
            raise
        except Exception as exc:
            log.warning('bus "%s": broadcast time sync failed: %r', self.bus, exc)
        self._c.busy_s += self._clock.now() - t0

    def _emit(self, dr: DeviceRead) -> None:
        try:
            self._out.put_nowait(dr)
        except asyncio.QueueFull:
            self._out.get_nowait()     # drop the oldest batch: fresh data first
            self._c.queue_dropped += 1
            self._out.put_nowait(dr)

    # ---- telemetry ----------------------------------------------------------------------------------

    def telemetry(self) -> BusTelemetry:
        """Snapshot; starts a new utilisation/lateness window."""
        now = self._clock.now()
        elapsed = now - self._window_start
        util = (self._c.busy_s - self._window_busy) / elapsed if elapsed > 0 and self._started else None
        self._window_start, self._window_busy = now, self._c.busy_s
        plans = []
        for rnd in self._rounds:
            running = (now - (rnd.ref + rnd.plan.effective_deadline_s)) if rnd.pending else 0.0
            plans.append(PlanTelemetry(
                plan=rnd.plan.name, class_name=rnd.plan.class_name, rounds_done=rnd.done,
                rounds_overrun=rnd.overrun, slots_coalesced=rnd.coalesced,
                last_round_time_s=rnd.last_round_time_s, last_lateness_s=rnd.last_lateness_s,
                max_lateness_s=max(rnd.max_lateness_s, running, 0.0)))
            rnd.max_lateness_s = 0.0
        round_times = [p.last_round_time_s for p in plans if p.last_round_time_s is not None]
        drifts = list(self._c.drifts.values())
        backed = tuple(sorted(d.spec.device for d in self._devices.values() if d.backed_off))
        return BusTelemetry(
            bus=self.bus, ts=now, reads_ok=self._c.reads_ok, reads_failed=self._c.reads_failed,
            reads_skipped=self._c.reads_skipped, readings=self._c.readings, utilisation=util,
            round_time_s=max(round_times, default=None),
            lateness_s=max((p.max_lateness_s for p in plans), default=None),
            devices_backed_off=len(backed), devices_recovered=self._c.recovered, probes=self._c.probes,
            rounds_overrun=sum(p.rounds_overrun for p in plans), queue_dropped=self._c.queue_dropped,
            clock_drift_max_abs_s=max((abs(d) for d in drifts), default=None),
            clocks_over_limit=self._c.clocks_over_limit, time_syncs=self._c.time_syncs,
            plans=tuple(plans), backed_off=backed)

    def totals(self) -> dict[str, float]:
        """Cumulative counters since start, read without side effects (``telemetry()`` starts a new
        utilisation window for the health payload; the live views keep their own windows from these)."""
        c = self._c
        return {"t0": self._t0, "now": self._clock.now(), "busy_s": c.busy_s, "useful_s": c.useful_s,
                "reads_ok": c.reads_ok, "reads_failed": c.reads_failed, "reads_skipped": c.reads_skipped,
                "readings": c.readings, "on_demand": self.slots.stats.served,
                "on_demand_busy_s": self.slots.stats.busy_s}

    def device_rows(self, since: int = 0) -> list[tuple[str, float | None, str | None, float | None, int, bool,
                                                        float | None]]:
        """Per device changed after change count ``since`` (0: every device), cheaply — a live view asks
        every few seconds: (name, last success, last error, its time, silent transactions in a row, backed
        off, next probe). Clock times; None = never."""
        return [(name, d.last_ok, d.last_error, d.last_error_ts, d.silent, d.backed_off,
                 d.next_probe if d.backed_off and math.isfinite(d.next_probe) else None)
                for name, d in self._devices.items() if d.changed > since or not since]

    def device_counts(self) -> tuple[int, int]:
        """(devices, of which backed off)."""
        return len(self._devices), sum(d.backed_off for d in self._devices.values())

    def clock_drifts(self) -> dict[str, float]:
        """Last measured drift per device (meter minus gateway, seconds)."""
        return dict(self._c.drifts)
