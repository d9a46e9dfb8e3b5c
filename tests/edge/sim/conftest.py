"""Small simulator configurations shared by the simulator tests."""

from __future__ import annotations

from edge.sim.config import SimConfig, parse_sim_config

# Subjects that fit each kind in a 60-customer area (M0020, M0040, M0060 three-phase; M0037 industrial
# three-phase with a CT; M0060 CT-connected as the 4th three-phase customer).
SUBJECTS = {
    "overload": None, "heat_wave": None, "load_growth": None, "area_outage": None, "master_offline": None,
    "jokar_h1": "M0003", "jokar_h2": "M0004", "jokar_h3": "M0005", "jokar_h4": "M0006", "jokar_h5": "M0007",
    "jokar_h6": "M0008", "bypass_full": "M0011", "bypass_partial": "M0012", "neutral_return": "M0013",
    "voltage_link_open": "M0040", "shorted_ct": "M0020", "reversed_ct": "M0060", "relay_bypass": "M0014",
    "cover_open_drop": "M0015", "comm_loss": "M0016", "branch_outage": "B2", "phase_loss": "C",
    "misregistered": "M0017", "wrong_ct_ratio": "M0037", "collection_gaps": "area", "vacant": "M0018",
}


def one_kind_config(kind: str, *, customers: int = 60, start_h: float = 8.0, end_h: float = 20.0,
                    extra: str = "", seed: int = 7, subject: str | None = None) -> SimConfig:
    subject = subject or SUBJECTS[kind]
    subj = f'subject = "{subject}"\n' if subject else ""
    return parse_sim_config(
        f"[sim]\nseed = {seed}\n[area]\ncustomers = {customers}\nbranches = 3\nrated_kva = 160\n"
        f'[[scenario]]\nkind = "{kind}"\n{subj}start_h = {start_h}\nend_h = {end_h}\n{extra}', f"{kind}.toml")
