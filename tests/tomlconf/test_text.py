"""Configuration bytes to text: UTF-8 (BOM or not) loads; anything else names file, line and column."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from tomlconf import ConfigError, decode_utf8, load, read_text


def test_utf8_with_and_without_bom_decode_to_the_same_text():
    text = 'name = "金丽 1 号台区"\n'
    assert decode_utf8(text.encode(), "a.toml") == decode_utf8(codecs.BOM_UTF8 + text.encode(), "a.toml") == text


def test_gbk_is_named_with_line_column_byte_and_a_conversion():
    data = 'a = 1\nb = 2\nname = "金丽"\n'.encode("gb18030")
    with pytest.raises(ConfigError) as info:
        decode_utf8(data, "edge.toml", toml=True)
    (issue,) = info.value.issues
    assert (issue.file, issue.line, issue.key) == ("edge.toml", 3, "<encoding>")
    assert "byte 0xBD at column 9" in issue.message and "TOML specification" in issue.message
    assert "GBK/GB18030" in issue.message and "iconv -f GB18030 -t UTF-8" in issue.message


def test_latin1_is_not_called_gbk():
    with pytest.raises(ConfigError, match="an 8-bit code page") as info:
        decode_utf8("id,name\n1,café\n".encode("latin-1"), "x.csv", what="meter list")
    assert "the meter list must be UTF-8" in info.value.issues[0].message
    assert "iconv -f CP1252" in info.value.issues[0].message


@pytest.mark.parametrize("codec", ["utf-16", "utf-32"])
def test_wide_unicode_files_are_recognised_by_their_bom(codec: str):
    with pytest.raises(ConfigError, match=f"saved as {codec.upper()}; save it as UTF-8"):
        decode_utf8('a = 1\n'.encode(codec), "a.toml", toml=True)


def test_load_names_an_unreadable_file_and_parses_a_good_one(tmp_path: Path):
    with pytest.raises(ConfigError, match="cannot read profile: No such file"):
        read_text(tmp_path / "missing.toml", what="profile")
    (tmp_path / "ok.toml").write_bytes(codecs.BOM_UTF8 + b"[t]\nk = 1\n")
    doc = load(tmp_path / "ok.toml")
    assert doc.data == {"t": {"k": 1}} and doc.line("t.k") == 2
