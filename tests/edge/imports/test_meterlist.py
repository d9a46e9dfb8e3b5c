"""The meter list as archives export it: GBK, Chinese headers and values, CT ratios as 200/5; a replay needs no
bus or address, the daemon does; every problem names file, line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.areafile import load_area
from edge.cli import main
from edge.config.loader import load_config
from edge.errors import ConfigError
from edge.imports.meterlist import read_meter_list

LIST = ("台区A01 电能表档案\r\n"
        "户号,户名,通信地址,端口,相别,分支箱,接线方式,是否光伏,倍率,,\r\n"
        "A01-0001,张三,310000000001,rs485-1,A相,B1,单相,否,1,,\r\n"
        "A01-0002,李四,310000000002,rs485-1,三相,B2,三相四线,是,200/5,,\r\n")


def test_a_gbk_archive_list_with_chinese_headers_and_values(tmp_path: Path) -> None:
    p = tmp_path / "m.csv"
    p.write_bytes(LIST.encode("gbk"))
    meters, issues = read_meter_list(p)
    assert not issues
    assert [(m.id, m.address, m.bus, m.phase, m.branch, m.kind, m.pv, m.ct_ratio, line) for m, line in meters] == [
        ("A01-0001", "310000000001", "rs485-1", "A", "B1", "single", False, 1.0, 3),
        ("A01-0002", "310000000002", "rs485-1", "ABC", "B2", "three", True, 40.0, 4)]


def test_replay_needs_no_bus_or_address_but_the_daemon_does(tmp_path: Path) -> None:
    p = tmp_path / "m.csv"
    p.write_text("表号,相别\nm1,A\nm2,B\n", encoding="utf-8-sig")
    meters, issues = read_meter_list(p, for_replay=True)
    assert not issues and [(m.id, m.bus, m.address) for m, _ in meters] == [("m1", "", ""), ("m2", "", "")]
    _, issues = read_meter_list(p)
    assert "missing column(s) address, bus (replay does without bus and address" in issues[0].message


def test_a_gbk_list_loads_in_the_daemons_configuration_and_check_config(tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "meters.csv").write_bytes(LIST.encode("gbk"))
    cfg = tmp_path / "edge.toml"
    cfg.write_text('[gateway]\nid = "gw"\ngrid = "g"\n[mqtt]\nurl = "mqtt://localhost"\n'
                   '[[bus]]\nname = "rs485-1"\nport = "/dev/ttyS1"\nprotocol = "dlt645"\n'
                   '[[bus]]\nname = "ttu"\nport = "tcp://127.0.0.1:502"\nprotocol = "modbus-tcp"\n'
                   '[[area]]\nid = "A01"\ntransformer = { rated_kva = 100 }\n'
                   'master = { bus = "ttu", profile = "ttu" }\nmeters_csv = "meters.csv"\n')
    assert [m.id for m in load_config(cfg).areas[0].meters] == ["A01-0001", "A01-0002"]
    assert main(["check-config", str(cfg)]) == 0
    (tmp_path / "meters.csv").write_bytes(LIST.replace("三相,B2", "D相,B2").encode("gbk"))
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    issue = err.value.issues[0]
    assert (Path(issue.file).name, issue.line, issue.key) == ("meters.csv", 4, "row 4.phase")
    assert "'D相' is not one of A, B, C, ABC" in issue.message and issue.device == 'meter "A01-0002"'


def test_addresses_are_other_names_of_the_meters_in_an_export(tmp_path: Path) -> None:
    (tmp_path / "meters.csv").write_bytes(LIST.encode("gbk"))
    (tmp_path / "area.toml").write_text('[[area]]\nid = "A01"\ntransformer = { rated_kva = 100 }\n'
                                        'master = { bus = "ttu" }\nmeters_csv = "meters.csv"\ntimezone = "Asia/Shanghai"\n')
    af = load_area(tmp_path / "area.toml")
    assert af.aliases["310000000002"] == "A01-0002" and af.timezone == "Asia/Shanghai"
    assert af.params.utc_offset_s == 28800
    text = (tmp_path / "area.toml").read_text()
    (tmp_path / "area.toml").write_text(text.replace("Asia/Shanghai", "UTC"))
    assert load_area(tmp_path / "area.toml").params.utc_offset_s == 0          # follows the zone when not written
    (tmp_path / "area.toml").write_text(text.replace("Asia/Shanghai", "UTC") + "[detection]\nutc_offset_s = 28800\n")
    with pytest.raises(ConfigError, match=r"disagrees with gateway\.timezone 'UTC'"):
        load_area(tmp_path / "area.toml")
    (tmp_path / "area.toml").write_text(text.replace("Asia/Shanghai", "Mars/Base"))
    with pytest.raises(ConfigError) as err:
        load_area(tmp_path / "area.toml")
    assert (err.value.issues[0].key, err.value.issues[0].line) == ("area[0].timezone", 6)


ODD = ("计量点编号;表计通讯地址;采集通道;供电相序\n"       # headers no built-in name covers, ';' separated
       "A01-0001;310000000001;rs485-1;A\n"
       "A01-0002;310000000002;rs485-1;C\n")
ODD_MAP = ('encoding = "gbk"\n'
           '[columns]\nid = "计量点编号"\naddress = "表计通讯地址"\nbus = "采集通道"\nphase = "供电相序"\n')


def test_a_mapping_file_names_the_columns_the_built_in_names_do_not_know(tmp_path: Path) -> None:
    from edge.imports.meterlist import load_meter_mapping

    p = tmp_path / "m.csv"
    p.write_bytes(ODD.encode("gbk"))
    _, issues = read_meter_list(p)
    assert issues and "no header line" in issues[0].message            # without the mapping: refused, with
    assert "meters_mapping file ([columns] id = ..." in issues[0].message    # the way out in the message
    (tmp_path / "map.toml").write_text(ODD_MAP, encoding="utf-8")
    mapping, problems = load_meter_mapping(tmp_path / "map.toml")
    assert not problems and mapping is not None
    meters, issues = read_meter_list(p, mapping=mapping)
    assert not issues
    assert [(m.id, m.address, m.bus, m.phase) for m, _ in meters] == [
        ("A01-0001", "310000000001", "rs485-1", "A"), ("A01-0002", "310000000002", "rs485-1", "C")]


def test_a_wrong_meter_list_mapping_is_named_by_file_line_and_key(tmp_path: Path) -> None:
    from edge.imports.meterlist import load_meter_mapping

    bad = tmp_path / "map.toml"
    bad.write_text('encoding = "latin9"\n[columns]\nid = "计量点编号"\nphases = "供电相序"\n', encoding="utf-8")
    mapping, problems = load_meter_mapping(bad)
    assert mapping is None
    got = {(i.key, i.line) for i in problems}
    assert ("encoding", 1) in got and ("columns.phases", 4) in got
    assert any("fields: id, address, bus" in i.message for i in problems)
    p = tmp_path / "m.csv"
    p.write_bytes(ODD.encode("gbk"))
    (tmp_path / "ok.toml").write_text(ODD_MAP.replace("供电相序", "相序"), encoding="utf-8")
    mapping, _ = load_meter_mapping(tmp_path / "ok.toml")
    _, issues = read_meter_list(p, mapping=mapping)
    assert issues[0].key == "columns.phase" and "'相序'" in issues[0].message and issues[0].line == 1


def test_the_area_config_takes_a_meter_list_mapping(tmp_path: Path) -> None:
    (tmp_path / "meters.csv").write_bytes(ODD.encode("gbk"))
    (tmp_path / "map.toml").write_text(ODD_MAP, encoding="utf-8")
    cfg = tmp_path / "edge.toml"
    base = ('[gateway]\nid = "gw"\ngrid = "g"\n[mqtt]\nurl = "mqtt://localhost"\n'
            '[[bus]]\nname = "rs485-1"\nport = "/dev/ttyS1"\nprotocol = "dlt645"\n'
            '[[bus]]\nname = "ttu"\nport = "tcp://127.0.0.1:502"\nprotocol = "modbus-tcp"\n'
            '[[area]]\nid = "A01"\ntransformer = { rated_kva = 100 }\n'
            'master = { bus = "ttu", profile = "ttu" }\nmeters_csv = "meters.csv"\n')
    cfg.write_text(base + 'meters_mapping = "map.toml"\n', encoding="utf-8")
    assert [(m.id, m.phase) for m in load_config(cfg).areas[0].meters] == [("A01-0001", "A"), ("A01-0002", "C")]
    cfg.write_text(base + 'meters_mapping = "nowhere.toml"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(cfg)
    assert "nowhere.toml" in err.value.issues[0].file and "cannot read meter list mapping" in err.value.issues[0].message
