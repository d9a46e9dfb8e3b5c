"""DL/T 645-2007/1997 acquisition: sans-I/O codec, DI catalogue, asyncio links, client, bus scan."""

from edge.dlt645.catalog import Catalog, Item, load_catalog
from edge.dlt645.client import DiResult, Dlt645Client, MeterProfile
from edge.dlt645.codec import DecodeError, Decoder, Frame
from edge.dlt645.link import Exchange, Link, LinkStats, SerialLink, TcpLink, open_link
from edge.dlt645.scan import FoundMeter, scan_bus

__all__ = [
    "Catalog",
    "DecodeError",
    "Decoder",
    "DiResult",
    "Dlt645Client",
    "Exchange",
    "FoundMeter",
    "Frame",
    "Item",
    "Link",
    "LinkStats",
    "MeterProfile",
    "SerialLink",
    "TcpLink",
    "load_catalog",
    "open_link",
    "scan_bus",
]
