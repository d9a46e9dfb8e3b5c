"""Each device's read cadence, learned from its reads one by one in time order (detection.md, "Outages").

The cadence a device is judged by is the longest gap between two of its reads in normal operation: a
device read by several plans (readings every 15 min, status words hourly at +450 s) is due again one
*longest* gap after any read, whatever the offsets. So the estimate is the largest of the last ``W``
gaps; while fewer than ``W`` gaps were seen, at least the configured default. The first gap counts as it
is (a default set too short must not make a device look silent read after read); after it, a gap longer
than 1.5 times the estimate is a missed read (or an outage) and teaches nothing, unless three come in a
row: the plan really got slower.

``dev``, ``ts``: the valid readings of one chunk, sorted by device then time. ``group``: per device, the
spacing under which readings are one read. State per device (updated in place): ``last`` (time of the
last read; NaN: never), ``est`` (the cadence), ``n`` (gaps seen), ``ring`` (D, W) of the last W gaps,
``miss`` (consecutive missed reads). ``default`` per device is the configured cadence.
"""

from __future__ import annotations

import math

from detect.kernels import kernel

MISS_FACTOR = 1.5      # a gap this many cadences long is a missed read ...
MISS_RUN = 3           # ... unless this many come in a row


@kernel
def learn(dev, ts, group, last, est, n, ring, miss, default):  # pragma: no cover - jitted
    w = ring.shape[1]
    for j in range(dev.shape[0]):
        d = dev[j]
        t = ts[j]
        if math.isnan(last[d]):
            last[d] = t
            continue
        gap = t - last[d]
        if gap <= group[d]:           # the same read (its round's transactions), or an older reading
            continue
        last[d] = t
        record = gap
        if n[d] > 0 and gap > MISS_FACTOR * est[d]:
            miss[d] += 1
            if miss[d] < MISS_RUN:
                record = est[d]
        else:
            miss[d] = 0
        ring[d, n[d] % w] = record
        n[d] += 1
        top = 0.0
        for i in range(min(n[d], w)):
            top = max(top, ring[d, i])
        est[d] = top if n[d] >= w else max(top, default[d])
