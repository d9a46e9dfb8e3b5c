"""``[status]``: what check-config says about the status page's address and token."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import load_config_text
from edge.errors import ConfigError
from edge.preflight import preflight

BASE = """
[gateway]
id = "gw-1"
grid = "g1"
state_dir = "{state}"

[mqtt]
url = "mqtt://127.0.0.1:1883"
"""


def config(tmp_path: Path, status: str) -> str:
    return BASE.format(state=tmp_path / "state") + "\n[status]\n" + status


def test_loopback_needs_no_token_and_the_defaults_are_off(tmp_path: Path) -> None:
    cfg = load_config_text(BASE.format(state=tmp_path))
    assert (cfg.status.listen, cfg.status.socket, cfg.status.token_file) == ("", "", "")
    for listen in ("127.0.0.1:8780", "localhost:8780", "[::1]:8780", "127.0.0.1:0"):
        assert load_config_text(config(tmp_path, f'listen = "{listen}"')).status.listen == listen


def test_an_address_reachable_from_outside_needs_a_token_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config_text(config(tmp_path, 'listen = "0.0.0.0:8780"'), "edge.toml")
    assert "edge.toml:11: status.listen: 0.0.0.0 is reachable from other machines: set token_file" in str(err.value)
    with pytest.raises(ConfigError, match="is not host:port"):
        load_config_text(config(tmp_path, 'listen = "8780"'))


def test_the_token_file_must_exist_and_hold_a_token_and_is_never_named(tmp_path: Path) -> None:
    path = tmp_path / "edge.toml"
    path.write_text(config(tmp_path, 'listen = "192.0.2.1:8780"\ntoken_file = "my-secret-token-x"'), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        preflight(path)
    text = str(err.value)
    assert "status.token_file: cannot use the token file" in text and "my-secret-token-x" not in text
    (tmp_path / "tok").write_text("\n", encoding="utf-8")
    path.write_text(config(tmp_path, f'listen = "192.0.2.1:8780"\ntoken_file = "{tmp_path / "tok"}"'), encoding="utf-8")
    with pytest.raises(ConfigError, match="it is empty"):
        preflight(path)
    (tmp_path / "tok").write_text("t0ken\n", encoding="utf-8")
    assert preflight(path).config.status.token_file == str(tmp_path / "tok")
