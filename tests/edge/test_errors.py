"""Errors: a rejected configuration is reported with every issue."""

from __future__ import annotations

from edge.errors import ConfigError, ConfigIssue


def test_config_error_report_lists_every_issue_under_a_count():
    exc = ConfigError([ConfigIssue(file="edge.toml", line=3, key="bus[0].baud", message="2401 is not one of 2400"),
                       ConfigIssue(file="m.csv", line=None, key="id", message="duplicate meter id", device='meter "x"')])
    lines = exc.report("edge.toml", "nothing was started").splitlines()
    assert lines[0] == "edge.toml: 2 error(s); nothing was started"
    assert lines[1:] == [f"  {i}" for i in exc.issues] and "2401" in lines[1] and "m.csv" in lines[2]
    assert exc.report("x.toml").splitlines()[0] == "x.toml: 2 error(s)"
