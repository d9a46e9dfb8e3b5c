"""Alarm persistence state machine over a time-ordered stream of (subject, condition) events.

States per subject: 0 idle, 1 pending (condition holds, persistence not yet elapsed), 2 raised,
3 clearing (clear condition holds, clear persistence not yet elapsed). Transitions returned per event:
0 none, 1 raised, 2 cleared. An invalid event (value missing or condition not meaningful) drops a
pending subject back to idle and leaves a raised one as it is.
"""

from __future__ import annotations

import numpy as np

from detect.kernels import kernel

IDLE, PENDING, RAISED, CLEARING = 0, 1, 2, 3
T_NONE, T_RAISE, T_CLEAR = 0, 1, 2


@kernel
def persist_events(subj, ts, on, off, valid, persist_on_s, persist_off_s, state, onset_ts, clear_ts):  # pragma: no cover - jitted
    n = subj.shape[0]
    trans = np.zeros(n, np.int8)
    for k in range(n):
        s = subj[k]
        t = ts[k]
        st = state[s]
        if not valid[k]:
            if st == PENDING:
                state[s] = IDLE
            continue
        if st == IDLE:
            if on[k]:
                onset_ts[s] = t
                if persist_on_s <= 0.0:
                    state[s] = RAISED
                    trans[k] = T_RAISE
                else:
                    state[s] = PENDING
        elif st == PENDING:
            if on[k]:
                if t - onset_ts[s] >= persist_on_s:
                    state[s] = RAISED
                    trans[k] = T_RAISE
            else:
                state[s] = IDLE
        elif st == RAISED:
            if off[k]:
                clear_ts[s] = t
                if persist_off_s <= 0.0:
                    state[s] = IDLE
                    trans[k] = T_CLEAR
                else:
                    state[s] = CLEARING
        else:
            if off[k]:
                if t - clear_ts[s] >= persist_off_s:
                    state[s] = IDLE
                    trans[k] = T_CLEAR
            else:
                state[s] = RAISED
    return trans
