"""What export headers and cells mean: roles, quantities, units and kinds, in Chinese and English.

Header text is normalised first (``normalise``): full-width characters to half-width, spaces, ``_`` and
``-`` removed, lower case, and a trailing unit in brackets split off (``正向有功总电能(kWh)`` →
``正向有功总电能`` + ``kWh``). Matching is then exact on the normalised text.
"""

from __future__ import annotations

import re
import unicodedata

from detect.quantities import QUANTITIES

__all__ = ["ENERGY", "POWER", "ROLE_ALIASES", "UNITS", "family", "kind_hint", "normalise", "quantity_of",
           "role_of", "unit_of"]

ENERGY = ("e_fwd", "e_rev", "e_fwd_daily")
POWER = ("p", "p_a", "p_b", "p_c", "q")

ROLE_ALIASES: dict[str, tuple[str, ...]] = {
    "ts": ("ts", "time", "timestamp", "datetime", "date", "readtime", "readingtime", "时间", "抄表时间", "采集时间",
           "数据时间", "时标", "冻结时间", "数据日期", "冻结日期", "日期", "抄表日期", "采集日期", "终端抄表时间"),
    "device": ("device", "meter", "meterid", "meterno", "id", "表号", "电表号", "电能表资产编号", "资产编号", "表资产号",
               "电能表编号", "户号", "用户编号", "用户号", "通信地址", "表地址", "电表地址", "设备", "设备编号", "测量点"),
    "quantity": ("quantity", "item", "metric", "dataitem", "point", "数据项", "数据项名称", "测量项", "项目", "量"),
    "value": ("value", "reading", "val", "数值", "值", "读数", "数据值", "示值"),
}

# Quantity names as exports write them (normalised); our own names (e_fwd, u_a, ...) always match too.
_Q_ALIASES: dict[str, tuple[str, ...]] = {
    "u_a": ("a相电压", "ua", "电压", "voltagea", "voltage"),
    "u_b": ("b相电压", "ub", "voltageb"),
    "u_c": ("c相电压", "uc", "voltagec"),
    "i_a": ("a相电流", "ia", "电流", "currenta", "current"),
    "i_b": ("b相电流", "ib", "currentb"),
    "i_c": ("c相电流", "ic", "currentc"),
    "i_n": ("零线电流", "零序电流", "中性线电流", "in", "neutralcurrent"),
    "p": ("有功功率", "总有功功率", "瞬时有功功率", "activepower", "power", "kw"),
    "p_a": ("a相有功功率", "pa"), "p_b": ("b相有功功率", "pb"), "p_c": ("c相有功功率", "pc"),
    "q": ("无功功率", "总无功功率", "reactivepower"),
    "pf": ("功率因数", "总功率因数", "powerfactor", "cosφ", "cosphi"),
    "f": ("频率", "电网频率", "frequency", "hz"),
    "e_fwd": ("正向有功总电能", "正向有功总", "正向有功电能", "正向有功总电能示值", "正向有功总示值", "正向有功电能示值",
              "正向有功", "有功总电能", "有功电能示值", "正向有功总电量", "正向有功电量", "用电量", "电量", "日用电量", "日电量", "forwardenergy",
              "forwardactiveenergy", "importenergy", "energy", "kwh", "consumption"),
    "e_rev": ("反向有功总电能", "反向有功总", "反向有功电能", "反向有功总电能示值", "反向有功总示值", "反向有功",
              "反向有功总电量", "反向有功电量", "上网电量", "reverseenergy", "reverseactiveenergy", "exportenergy"),
    "e_fwd_daily": ("日冻结正向有功总电能", "日冻结正向有功总电能示值", "日冻结正向有功总", "日冻结正向有功", "日冻结示值",
                    "dailyfreeze", "dailyforwardenergy"),
    "t_amb": ("环境温度", "温度", "ambienttemperature", "temperature"),
    "evt_cover_open": ("开表盖次数", "开盖次数", "开表盖总次数", "coveropen", "coveropencount"),
    "evt_terminal_open": ("开端钮盒次数", "开端钮盖次数", "开端钮盒总次数", "terminalopen", "terminalcoveropen"),
    "evt_power_down": ("掉电次数", "掉电总次数", "停电次数", "powerdown", "powerdowncount"),
    "evt_event_clear": ("事件清零次数", "事件清零总次数", "eventclear"),
    "evt_meter_clear": ("电表清零次数", "电表清零总次数", "meterclear"),
    **{f"sw{k}": (f"电表运行状态字{k}", f"运行状态字{k}", f"状态字{k}", f"statusword{k}") for k in range(1, 8)},
}

# unit text (normalised) -> (family, factor to our unit)
UNITS: dict[str, tuple[str, float]] = {
    "kwh": ("energy", 1.0), "kw·h": ("energy", 1.0), "kw.h": ("energy", 1.0), "千瓦时": ("energy", 1.0),
    "度": ("energy", 1.0), "wh": ("energy", 0.001), "瓦时": ("energy", 0.001), "mwh": ("energy", 1000.0),
    "兆瓦时": ("energy", 1000.0),
    "kw": ("power", 1.0), "千瓦": ("power", 1.0), "w": ("power", 0.001), "瓦": ("power", 0.001),
    "mw": ("power", 1000.0), "kvar": ("power", 1.0), "var": ("power", 0.001), "千乏": ("power", 1.0),
    "v": ("voltage", 1.0), "伏": ("voltage", 1.0), "kv": ("voltage", 1000.0),
    "a": ("current", 1.0), "安": ("current", 1.0), "ma": ("current", 0.001),
    "hz": ("frequency", 1.0), "℃": ("temperature", 1.0), "°c": ("temperature", 1.0), "degc": ("temperature", 1.0),
    "%": ("ratio", 0.01), "次": ("count", 1.0),
}
_FAMILY = {**dict.fromkeys(ENERGY, "energy"), **dict.fromkeys(POWER, "power"),
           **dict.fromkeys(("u_a", "u_b", "u_c"), "voltage"), **dict.fromkeys(("i_a", "i_b", "i_c", "i_n"), "current"),
           "f": "frequency", "t_amb": "temperature", "pf": "ratio"}
_INTERVAL_WORDS = ("电量", "用电量", "增量", "consumption", "interval", "delta", "usage")
_REGISTER_WORDS = ("示值", "读数", "底码", "止码", "register", "reading", "meterreading", "index")
_UNIT_TAIL = re.compile(r"^(.*?)[(\[{](.*?)[)\]}]$")


def normalise(text: str) -> str:
    t = unicodedata.normalize("NFKC", text).replace("\ufeff", "").strip().lower()
    t = t.replace("【", "[").replace("】", "]")
    return re.sub(r"[\s_\-]+", "", t)


def _split_unit(text: str) -> tuple[str, str]:
    t = normalise(text)
    if t in _LOOKUP or t in _ROLE:
        return t, ""
    m = _UNIT_TAIL.match(t)
    if m and m.group(1):
        return m.group(1), m.group(2)
    for unit in sorted(UNITS, key=len, reverse=True):      # e_fwd_kwh, energy/kWh
        for sep in ("/", ""):
            if t.endswith(sep + unit) and len(t) > len(sep + unit) and t[: -len(sep + unit)] in _LOOKUP:
                return t[: -len(sep + unit)], unit
    return t, ""


_LOOKUP: dict[str, str] = {}
for _q in QUANTITIES:
    _LOOKUP[normalise(_q)] = _q
for _q, _names in _Q_ALIASES.items():
    for _n in _names:
        _LOOKUP.setdefault(normalise(_n), _q)
_ROLE: dict[str, str] = {normalise(n): role for role, names in ROLE_ALIASES.items() for n in names}


def role_of(header: str) -> str | None:
    """``ts``, ``device``, ``quantity``, ``value`` or None."""
    return _ROLE.get(_split_unit(header)[0])


def quantity_of(text: str) -> str | None:
    """The quantity a header (or a long export's quantity cell) names, or None."""
    return _LOOKUP.get(_split_unit(text)[0])


def unit_of(header: str) -> str:
    """The unit written in a header ('' when none): ``(kWh)``, ``[Wh]``, ``_kwh``, ``/kWh``."""
    return _split_unit(header)[1]


def family(quantity: str) -> str:
    return _FAMILY.get(quantity, "count")


def kind_hint(header: str) -> str | None:
    """``interval`` when the header speaks of consumption (电量), ``register`` of a reading (示值), else None."""
    t = _split_unit(header)[0]
    if any(w in t for w in _REGISTER_WORDS):
        return "register"
    if any(w in t for w in _INTERVAL_WORDS):
        return "interval"
    return None


def quantity_aliases() -> dict[str, str]:
    """Every normalised name → quantity (for a long export's quantity column)."""
    return dict(_LOOKUP)
