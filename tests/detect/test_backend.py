"""Backend selection: numba when importable, forced numpy, clear errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from detect import backend


def run_python(code: str, env_backend: str | None) -> str:
    env = {"PATH": "/usr/bin:/bin"}
    if env_backend is not None:
        env["METERWATCH_BACKEND"] = env_backend
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False,
                           cwd=str(__import__("pathlib").Path(__file__).resolve().parents[2])).stdout.strip()


def test_numba_is_chosen_when_importable_and_numpy_can_be_forced() -> None:
    code = "from detect.backend import backend; print(backend())"
    assert run_python(code, None) == "numba"
    assert run_python(code, "numpy") == "numpy"


def test_numpy_is_chosen_when_numba_cannot_be_imported() -> None:
    code = ("import sys; sys.modules['numba'] = None\n"
            "from detect.backend import backend, kernels\n"
            "from detect.engine import Engine\n"
            "from detect.area import Area\n"
            "e = Engine(Area.simple(id='A', rated_kva=100, meter_ids=['m1']))\n"
            "print(backend(), e.backend_name, kernels('thermal').__name__)")
    assert run_python(code, None) == "numpy numpy detect.reference.thermal"


def test_startup_line_names_backend_and_reason() -> None:
    code = "import detect; print(detect.describe_backend())"
    assert run_python(code, None).startswith("detection kernels: numba 0.")
    assert run_python(code, "numpy") == "detection kernels: numpy reference implementations (forced by METERWATCH_BACKEND)"


def test_numerical_policy_keeps_nan_and_inf_semantics() -> None:
    from detect.config import FASTMATH
    from detect.kernels.load import load_rates

    assert not {"nnan", "ninf", "fast"} & FASTMATH
    assert load_rates.targetoptions["fastmath"] == set(FASTMATH)
    assert type(load_rates._cache).__name__ == "FunctionCache"     # on-disk cache, not the null cache


def test_unknown_topic_and_backend_are_errors() -> None:
    with pytest.raises(KeyError, match="unknown kernel topic 'x'"):
        backend.kernels("x")
    with pytest.raises(ValueError, match="unknown backend 'fortran'"):
        backend.kernels("load", "fortran")
