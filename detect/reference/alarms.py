"""Reference of ``detect.kernels.alarms``: the same state machine written as a transition table."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

IDLE, PENDING, RAISED, CLEARING = 0, 1, 2, 3
T_NONE, T_RAISE, T_CLEAR = 0, 1, 2


def persist_events(subj: npt.NDArray[np.int64], ts: npt.NDArray[np.float64], on: npt.NDArray[np.bool_],
                   off: npt.NDArray[np.bool_], valid: npt.NDArray[np.bool_], persist_on_s: float,
                   persist_off_s: float, state: npt.NDArray[np.int8], onset_ts: npt.NDArray[np.float64],
                   clear_ts: npt.NDArray[np.float64]) -> npt.NDArray[np.int8]:
    """Advance each subject's state by its events in order; returns the transition of every event."""
    trans = np.zeros(len(subj), np.int8)
    for k, (s, t, is_on, is_off, ok) in enumerate(zip(subj.tolist(), ts.tolist(), on.tolist(),
                                                       off.tolist(), valid.tolist(), strict=True)):
        st = int(state[s])
        if not ok:
            state[s] = IDLE if st == PENDING else st
            continue
        if st in (IDLE, PENDING) and is_on:
            if st == IDLE:
                onset_ts[s] = t
            held = t - onset_ts[s]
            if held >= persist_on_s:
                state[s], trans[k] = RAISED, T_RAISE
            else:
                state[s] = PENDING
        elif st == PENDING:
            state[s] = IDLE
        elif st in (RAISED, CLEARING) and is_off:
            if st == RAISED:
                clear_ts[s] = t
            if t - clear_ts[s] >= persist_off_s:
                state[s], trans[k] = IDLE, T_CLEAR
            else:
                state[s] = CLEARING
        elif st == CLEARING:
            state[s] = RAISED
    return trans
