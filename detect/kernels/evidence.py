"""Per-meter theft evidence (docs/lineloss.md §4): what each meter's own data says once the area (or one of
its phases) has unexplained loss. Each kernel gives one number per meter or metering element; the suspect
ranking (``detect.kernels.suspects.combine``) turns them into a score.

- ``drop_match``: the meter's daily energy since the NTL change point against what it would have used had
  it kept its share of the area's consumption (baseline days before the change point). A thief's meter
  drops by what is stolen — a shunt by the bypassed fraction, a full bypass to nothing — and the drop is
  judged against the meter's own day-to-day scatter around its share — in kWh and as a ratio, whichever
  stands out more — and against the rise itself.
- ``voltage_excess``: a metering element's voltage drop below the transformer's phase voltage, less what its
  branch-and-phase peers' drop (and, where given, other groups' drops: the same branch's other phases,
  whose load moves it through the neutral) explains, partially correlated with the unexplained current of
  its phase (the phase's NTL as a current). Unmetered current flowing through a meter's own service cable shows here whatever
  the meter reports — it is what reveals a full bypass, also one present from the start.
- ``joint_share``: the phase's hourly NTL as a non-negative combination of its meters' hourly energies plus a
  constant, all meters at once (Lawson–Hanson non-negative least squares). A shunt that hides a share f of
  its customer's load makes the NTL f/(1−f) of that meter's own series; an innocent's coefficient is its
  gain error. The common daily profile goes into the other meters' columns together, not into each one.

Conventions: float64, NaN = not read; hourly or daily rows, meters or elements in columns.
"""

from __future__ import annotations

import math

import numpy as np

from detect.kernels import kernel

__all__ = ["FEW_DAYS", "NNLS_MAX_ITER", "RATIO_FLOOR", "SD_FLOOR_FEW_DAYS", "SD_FLOOR_FRACTION", "WEEKLY_F",
           "WEEKLY_MIN_DAYS", "drop_match", "joint_share", "voltage_excess"]

SD_FLOOR_FRACTION = 0.05     # a meter's daily scatter around its share is at least 5 % of its daily energy,
SD_FLOOR_FEW_DAYS = 0.15     # 15 % (a household's usual day-to-day variation) while it is measured on
FEW_DAYS = 5                 # fewer baseline days than this
RATIO_FLOOR = 0.02           # drop as a ratio: a day's energy counts as at least 2 % of the meter's mean day
# A share per day class (working day, weekend) where it fits significantly better than one: F(1, ν) above its
# 1 % point for ν = baseline days − 2 (index ν; 4 ≤ ν; beyond the table 8.0), each class on at least
# WEEKLY_MIN_DAYS baseline days. A fixed F of 9 let two shares fit noise on short baselines (p ≈ 4 % at ν = 4:
# tuning seed 1006, an innocent listed on a 6-day baseline).
WEEKLY_F = np.array([np.inf, np.inf, np.inf, np.inf, 21.20, 16.26, 13.75, 12.25, 11.26, 10.56, 10.04, 9.65, 9.33,
                     9.07, 8.86, 8.68, 8.53, 8.40, 8.29, 8.18, 8.10])
WEEKLY_MIN_DAYS = 2
NNLS_MAX_ITER = 3            # Lawson–Hanson: at most this many passes per column
NNLS_RIDGE = 1e-9            # relative to the mean diagonal of XᵀX: keeps a collinear passive set solvable


@kernel
def drop_match(x_base, total_base, class_base, x_since, total_since, class_since, excess_since, out_z, out_drop,
               out_explained):
    """Per meter i (columns): share s_i = Σ x_base[:, i] / Σ total_base over the baseline days (rows), its
    daily scatter sd_i around s_i·total (floored at ``SD_FLOOR_FRACTION`` of its mean, ``SD_FLOOR_FEW_DAYS``
    with fewer than ``FEW_DAYS`` baseline days), then over the days
    since the change point the mean drop d_i = mean(s_i·total_since − x_since[:, i]) (kWh/day),
    z_i = d_i / (sd_i / √days) and explained_i = d_i / mean(excess_since) (the share of the rise the drop
    accounts for). ``total_*`` is the area's (or phase's) true consumption: metered sales, plus the excess
    NTL on the days since. Days with a NaN (meter or total unread) are skipped; NaN outputs without a
    baseline day or a day since.

    Days come in two classes (``class_*``: 0 a working day, 1 a weekend day). A meter whose share differs
    between them beyond its scatter (F of the two-share fit against one share above its 1 % point
    ``WEEKLY_F``, each class on at least ``WEEKLY_MIN_DAYS`` baseline days) is expected at its share of the
    day's class: a shop that uses a third of its weekday energy at weekends is not a drop every Saturday
    (seed 6016: a theft that began on a Saturday looked 5 × the rise and was set aside as unexplained for
    12 days). Each share is then known from fewer days, which the z pays for: divided by
    √(1 + ns·(Σ_k (ns_k/ns)² / nb_k − 1/nb)) (ns_k, nb_k: days of class k since and in the baseline) — the
    extra error of the class shares over one share (a weekend day against two weekend days of a 9-day
    baseline: z × 0.85).

    The same drop is also judged as a ratio, and ``out_z`` is the larger of the two: q = ln(x / expected)
    per day (x at least ``RATIO_FLOOR`` of the mean baseline day), z = (mean q_base − mean q_since) /
    (sd(q_base) / √days), sd floored as above. A shunt takes a fixed fraction of the meter's load, so its
    drop is a ratio; a customer whose days differ a lot in kWh scatters widely in kWh but falls far outside
    its scatter as a ratio when metered at a tenth of its usual (seed 5016's 85 % shunt on a 30–100 kWh/day
    three-phase customer: z 2.5 a day in kWh, ≈ 5 as a ratio)."""
    n = x_base.shape[1]
    n_s = x_since.shape[0]
    ex = 0.0
    n_ex = 0
    for d in range(n_s):
        if math.isfinite(excess_since[d]):
            ex += excess_since[d]
            n_ex += 1
    ex = ex / n_ex if n_ex > 0 else np.nan
    shares = np.empty(2)
    acc = np.empty((3, 2))            # _shares' per-class sums (x, total, days), allocated once
    for i in range(n):
        out_z[i] = np.nan
        out_drop[i] = np.nan
        out_explained[i] = np.nan
        nb, sx, ss, dof = _shares(x_base[:, i], total_base, class_base, shares, acc)
        if nb == 0:
            continue
        floor = SD_FLOOR_FRACTION if nb >= FEW_DAYS else SD_FLOOR_FEW_DAYS
        sd = max(math.sqrt(ss / dof) if dof > 0 else 0.0, floor * sx / nb, 1e-6)
        sd_ = 0.0
        ns = 0
        ns_weekend = 0
        for d in range(n_s):
            if math.isfinite(x_since[d, i]) and math.isfinite(total_since[d]):
                sd_ += shares[class_since[d]] * total_since[d] - x_since[d, i]
                ns += 1
                ns_weekend += class_since[d]
        if ns == 0:
            continue
        drop = sd_ / ns
        out_drop[i] = drop
        z = max(drop / (sd / math.sqrt(ns)), _ratio_z(x_base[:, i], total_base, class_base, x_since[:, i],
                                                      total_since, class_since, shares, sx / nb, floor))
        if dof == nb - 2:             # two shares: the extra error of estimating each from fewer days
            f1 = ns_weekend / ns
            extra = ns * ((1.0 - f1) ** 2 / acc[2, 0] + f1 ** 2 / acc[2, 1] - 1.0 / nb)
            z /= math.sqrt(1.0 + max(extra, 0.0))
        out_z[i] = z
        out_explained[i] = drop / ex if math.isfinite(ex) and ex > 0.0 else np.nan


@kernel
def _shares(xb, tb, cb, out_share, acc):
    """One meter's baseline: ``out_share[k]`` its share of the total on days of class k — one share for both
    unless two fit significantly better (``WEEKLY_F``); ``acc`` (3, 2) is left holding each class's Σ x,
    Σ total and days. Returns (days, Σ x, Σ residual², degrees of freedom); 0 days when the meter or the
    total has no known baseline day, or the total or the meter's own sum is not positive (a prosumer that
    exported as much as it used has no share of the consumption to drop from: its scatter floor would be
    nothing, and looked-at seed 9006's innocent prosumer had a drop z of 3.8 million)."""
    sx = 0.0
    st = 0.0
    nb = 0
    acc[:] = 0.0
    sxk, stk, nk = acc[0], acc[1], acc[2]
    for d in range(xb.shape[0]):
        if math.isfinite(xb[d]) and math.isfinite(tb[d]):
            sx += xb[d]
            st += tb[d]
            nb += 1
            sxk[cb[d]] += xb[d]
            stk[cb[d]] += tb[d]
            nk[cb[d]] += 1.0
    if nb < 1 or st <= 0.0 or sx <= 0.0:
        return 0, 0.0, 0.0, 0
    share = sx / st
    ss1 = 0.0
    ss2 = 0.0
    two = nk[0] >= WEEKLY_MIN_DAYS and nk[1] >= WEEKLY_MIN_DAYS and stk[0] > 0.0 and stk[1] > 0.0
    for d in range(xb.shape[0]):
        if math.isfinite(xb[d]) and math.isfinite(tb[d]):
            r = xb[d] - share * tb[d]
            ss1 += r * r
            if two:
                r = xb[d] - sxk[cb[d]] / stk[cb[d]] * tb[d]
                ss2 += r * r
    if two and ss1 - ss2 > _weekly_f(nb - 2) * ss2 / (nb - 2):
        out_share[0] = sxk[0] / stk[0]
        out_share[1] = sxk[1] / stk[1]
        return nb, sx, ss2, nb - 2
    out_share[0] = share
    out_share[1] = share
    return nb, sx, ss1, nb - 1


@kernel
def _weekly_f(dof):
    return WEEKLY_F[dof] if dof < len(WEEKLY_F) else 8.0


@kernel
def _ratio_z(xb, tb, cb, xs, ts, cs, shares, mean_day, sd_floor):
    """``drop_match``'s drop as a ratio: z of the mean log ratio since against the baseline's (-inf when it
    cannot be measured: fewer than two baseline days or none since)."""
    lo = max(RATIO_FLOOR * mean_day, 1e-9)
    s1 = 0.0
    s2 = 0.0
    nb = 0
    for d in range(xb.shape[0]):
        e = shares[cb[d]] * tb[d]
        if math.isfinite(xb[d]) and math.isfinite(e) and e > 0.0:
            q = math.log(max(xb[d], lo) / e)
            s1 += q
            s2 += q * q
            nb += 1
    ss = 0.0
    ns = 0
    for d in range(xs.shape[0]):
        e = shares[cs[d]] * ts[d]
        if math.isfinite(xs[d]) and math.isfinite(e) and e > 0.0:
            ss += math.log(max(xs[d], lo) / e)
            ns += 1
    if nb < 2 or ns == 0:
        return -np.inf
    m = s1 / nb
    sd = max(math.sqrt(max(s2 - nb * m * m, 0.0) / (nb - 1)), sd_floor)
    return (m - ss / ns) / (sd / math.sqrt(ns))


@kernel
def _group_sums(v, group, n_groups, out_sum, out_n):
    """Per row and group: Σ and count of the finite values of the group's columns."""
    for h in range(v.shape[0]):
        for g in range(n_groups):
            out_sum[h, g] = 0.0
            out_n[h, g] = 0
        for e in range(v.shape[1]):
            if math.isfinite(v[h, e]):
                out_sum[h, group[e]] += v[h, e]
                out_n[h, group[e]] += 1


@kernel
def _row_values(du, ncur, gsum, gn, group, also, e, h, out):
    """Row ``h`` of element e's regression: out = (p, the ``also`` groups' mean drops..., y, c); False where
    any is unknown (the element alone in its group that hour, a covariate group with none read)."""
    y = du[h, e]
    c = ncur[h, e]
    if not (math.isfinite(y) and math.isfinite(c)):
        return False
    g = group[e]
    k = gn[h, g] - 1
    if k < 1:
        return False
    out[0] = (gsum[h, g] - y) / k
    j = 1
    for a in also[g]:
        if a < 0:
            continue
        if gn[h, a] < 1:
            return False
        out[j] = gsum[h, a] / gn[h, a]
        j += 1
    out[j] = y
    out[j + 1] = c
    return True


@kernel
def voltage_excess(du, ncur, group, n_groups, also, use, min_rows, out_corr, out_beta, out_n):
    """Per element e with ``use[e]`` (columns of du, ncur: rows are hours): y = du[:, e] (V below the master's
    phase voltage), p = the mean du of the other elements of its group (same branch and phase), the mean du
    of each group in ``also[group[e]]`` (the same branch's other phases, or any covariate given as a column of
    a group of its own that no element in ``use`` belongs to: −1 for none), c = ncur[:, e] (the
    unexplained current of its phase, A). y and c are both regressed on (1, p, the other phases' drops); the
    correlation of the two residuals (their partial correlation) is out_corr[e] and the slope out_beta[e] (Ω:
    volts of unexplained drop per ampere of unexplained current), over the out_n[e] rows where all are
    known. A covariate that adds nothing (constant, or a combination of the others) is left out. NaN with
    fewer than ``min_rows`` rows, an element alone in its group, peers without variation or a drop that
    never changes.

    Why the other phases: in a four-wire branch the neutral carries the imbalance of the three phases'
    currents, and its drop moves every phase's voltage at a node — a meter's drop beyond its own phase's
    peers follows the other phases' load (looked-at seed 9022: against p alone, a bypass present from the
    start had a partial correlation of −0.8 with its phase's unexplained current)."""
    n_h, n_e = du.shape
    gsum = np.empty((n_h, n_groups))
    gn = np.empty((n_h, n_groups), np.int64)
    _group_sums(du, group, n_groups, gsum, gn)
    for e in range(n_e):
        out_corr[e] = np.nan
        out_beta[e] = np.nan
        out_n[e] = 0
        if not use[e]:
            continue
        nz = 1
        for a in also[group[e]]:
            if a >= 0:
                nz += 1
        m = nz + 2                                     # (p, others..., y, c)
        row = np.empty(m)
        mean = np.zeros(m)
        n = 0
        y_lo = np.inf
        y_hi = -np.inf
        for h in range(n_h):
            if _row_values(du, ncur, gsum, gn, group, also, e, h, row):
                n += 1
                for i in range(m):
                    mean[i] += row[i]
                y_lo = min(y_lo, row[nz])
                y_hi = max(y_hi, row[nz])
        out_n[e] = n
        if n < min_rows or y_hi - y_lo <= 1e-9 * max(1.0, abs(y_hi)):
            continue                                   # too few rows, a constant drop
        for i in range(m):
            mean[i] /= n
        s = np.zeros((m, m))                           # centred cross-products, two passes for precision
        for h in range(n_h):
            if _row_values(du, ncur, gsum, gn, group, also, e, h, row):
                for i in range(m):
                    row[i] -= mean[i]
                for i in range(m):
                    for j in range(m):
                        s[i, j] += row[i] * row[j]
        if s[0, 0] <= n * (1e-10 * max(1.0, abs(mean[0]))) ** 2:
            continue                                   # peers without variation (sd below 1e-10 of their level)
        # sweep out the covariates one at a time (Gram–Schmidt on the cross-products), skipping any that is
        # (nearly) a combination of those before it; what is left of (y, c) is their partial (co)variance
        for k in range(nz + 1):
            mean[k] = s[k, k]                          # (the means are no longer needed: the variances before)
        for k in range(nz):
            d = s[k, k]
            if not (d > 1e-9 * mean[k] and d > 0.0):
                continue
            for i in range(m):
                for j in range(m):
                    if i != k and j != k:
                        s[i, j] -= s[i, k] * s[k, j] / d
            for i in range(m):
                s[i, k] = 0.0
                s[k, i] = 0.0
        srr = s[nz, nz]
        scc = s[nz + 1, nz + 1]
        src = s[nz, nz + 1]
        if srr > 1e-12 * mean[nz] and scc > 0.0:  # y not (nearly) a combination of the covariates
            out_corr[e] = src / math.sqrt(srr * scc)
            out_beta[e] = src / scc


@kernel
def _cholesky(g, idx, m):
    """The lower Cholesky factor of g[idx, idx] over the first ``m`` of ``idx`` (symmetric positive definite)."""
    lo = np.zeros((m, m))
    for a in range(m):
        for b in range(a + 1):
            v = g[idx[a], idx[b]]
            for k in range(b):
                v -= lo[a, k] * lo[b, k]
            if a == b:
                lo[a, a] = math.sqrt(v) if v > 0.0 else 1e-300
            else:
                lo[a, b] = v / lo[b, b]
    return lo


@kernel
def _chol_solve(lo, rhs, idx, m, out):
    """Solve L·Lᵀ · z = rhs[idx] with the factor ``lo`` of ``_cholesky``, z into ``out[idx]``."""
    w = np.zeros(m)
    for a in range(m):
        v = rhs[idx[a]]
        for k in range(a):
            v -= lo[a, k] * w[k]
        w[a] = v / lo[a, a]
    for a in range(m - 1, -1, -1):
        v = w[a]
        for k in range(a + 1, m):
            v -= lo[k, a] * out[idx[k]]
        out[idx[a]] = v / lo[a, a]


@kernel
def _inv_diag(lo, m):
    """The diagonal of (L·Lᵀ)⁻¹: (G⁻¹)_aa = Σ_k (L⁻¹)_ka² (only for the final passive set's errors)."""
    inv_diag = np.zeros(m)
    col = np.zeros(m)
    for a in range(m):
        for k in range(m):
            col[k] = 0.0
        col[a] = 1.0 / lo[a, a]
        for r in range(a + 1, m):
            v = 0.0
            for k in range(a, r):
                v -= lo[r, k] * col[k]
            col[r] = v / lo[r, r]
        for k in range(a, m):
            inv_diag[a] += col[k] * col[k]
    return inv_diag


@kernel
def joint_share(x, y, out_b, out_t):
    """Non-negative least squares y ≈ Σ_i b_i·x[:, i] + c over the rows (hours), the constant c free: columns
    and y centred, then Lawson–Hanson on the normal equations (a ridge of ``NNLS_RIDGE`` × the mean
    diagonal keeps a collinear set solvable). ``out_b`` the coefficients (≥ 0), ``out_t`` each positive
    one over its standard error (residual variance, the passive set's (XᵀX)⁻¹; 0 for the others). All
    inputs finite; fewer rows than columns + 2 give zeros."""
    n_h, n = x.shape
    out_b[:] = 0.0
    out_t[:] = 0.0
    if n == 0 or n_h < n + 2:
        return
    xc = np.empty((n_h, n))
    yc = np.empty(n_h)
    my = 0.0
    for h in range(n_h):
        my += y[h]
    my /= n_h
    for i in range(n):
        m = 0.0
        for h in range(n_h):
            m += x[h, i]
        m /= n_h
        for h in range(n_h):
            xc[h, i] = x[h, i] - m
    for h in range(n_h):
        yc[h] = y[h] - my
    g = np.zeros((n, n))                     # loops, not @: numba's matrix product needs SciPy's BLAS
    gy = np.zeros(n)
    for a in range(n):
        for h in range(n_h):
            gy[a] += xc[h, a] * yc[h]
        for c in range(a + 1):
            v = 0.0
            for h in range(n_h):
                v += xc[h, a] * xc[h, c]
            g[a, c] = v
            g[c, a] = v
    ridge = 0.0
    for i in range(n):
        ridge += g[i, i]
    ridge = NNLS_RIDGE * max(ridge / n, 1e-300)
    for i in range(n):
        g[i, i] += ridge
    tol = 1e-10 * max(np.abs(gy).max(), 1e-300)
    passive = np.zeros(n, np.bool_)
    b = np.zeros(n)
    z = np.zeros(n)
    idx = np.zeros(n, np.int64)
    for _outer in range(NNLS_MAX_ITER * n):
        w = gy.copy()
        for a in range(n):
            for c in range(n):
                w[a] -= g[a, c] * b[c]
        j = -1
        best = tol
        for i in range(n):
            if not passive[i] and w[i] > best:
                best = w[i]
                j = i
        if j < 0:
            break
        passive[j] = True
        for _inner in range(NNLS_MAX_ITER * n):
            m = 0
            for i in range(n):
                z[i] = 0.0
                if passive[i]:
                    idx[m] = i
                    m += 1
            _chol_solve(_cholesky(g, idx, m), gy, idx, m, z)
            alpha = 2.0
            for a in range(m):
                i = idx[a]
                if z[i] <= 0.0:
                    step = b[i] / (b[i] - z[i]) if b[i] - z[i] > 0.0 else 0.0
                    alpha = min(alpha, step)
            if alpha > 1.0:
                break
            for i in range(n):
                b[i] += alpha * (z[i] - b[i])
                if passive[i] and b[i] <= 1e-12:
                    passive[i] = False
                    b[i] = 0.0
        for i in range(n):
            b[i] = z[i] if passive[i] else 0.0
    m = 0
    for i in range(n):
        if passive[i]:
            idx[m] = i
            m += 1
    if m == 0:
        return
    inv_diag = _inv_diag(_cholesky(g, idx, m), m)
    rss = 0.0
    for h in range(n_h):
        r = yc[h]
        for i in range(n):
            r -= xc[h, i] * b[i]
        rss += r * r
    s2 = rss / max(n_h - m - 1, 1)
    for a in range(m):
        i = idx[a]
        out_b[i] = b[i]
        se = math.sqrt(s2 * inv_diag[a]) if s2 * inv_diag[a] > 0.0 else 0.0
        out_t[i] = b[i] / se if se > 0.0 else 0.0
