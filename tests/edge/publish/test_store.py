"""OutboxStore: state committed with its messages, a corrupt outbox, a disk full before the outbox
could reserve its budget (a real 1 MiB tmpfs), all without raising into the caller."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest

from edge.publish.statefiles import StateFiles
from edge.publish.store import OutboxStore
from tests.support.disk import fill, small_disk
from wire import Outgoing

P = "meterwatch/v2/gw/g/A01"


def items(n: int, kind: str = "realtime", pad: int = 600) -> list[Outgoing]:
    topic = f"{P}/alert" if kind == "alert" else f"{P}/summary/{kind}"
    return [Outgoing(topic, kind, {"schema": f"meterwatch.{kind}/2", "n": n, "pad": "x" * pad})]


async def drain(store: OutboxStore) -> list[dict[str, object]]:
    out = []
    while msgs := await store.take(50):
        out += [json.loads(m.payload) for m in msgs]
        assert await store.ack([m.seq for m in msgs])
    return out


def test_state_is_committed_with_its_messages_and_survives_a_reopen(tmp_path: Path) -> None:
    async def run() -> None:
        s = OutboxStore(tmp_path / "outbox.sqlite3", gateway="gw")
        await s.open()
        await s.submit(items(1, "alert"), state={"engine:A01": b"S1"})
        await s.submit(items(2, "alert"), state={"engine:A01": b"S2"})
        with pytest.raises(ValueError):       # nothing of a refused call is stored: not its state either
            await s.submit([*items(3, "alert"), Outgoing(f"{P}/x", "realtime", {"v": float("nan")})],
                           state={"engine:A01": b"S3"})
        assert s.stats().depth == 2
        await s.close()
        again = OutboxStore(tmp_path / "outbox.sqlite3", gateway="gw")
        await again.open()
        assert again.load_state("engine:A01") == b"S2"
        assert again.load_state("engine:other") is None
        await again.close()

    asyncio.run(run())


def test_a_state_file_written_but_never_committed_is_not_taken(tmp_path: Path) -> None:
    """A crash between the state file and the transaction: the outbox still names the previous one."""
    async def run() -> None:
        s = OutboxStore(tmp_path / "outbox.sqlite3", gateway="gw")
        await s.open()
        await s.submit(items(1, "alert"), state={"engine:A01": b"committed"})
        await s.close()
        StateFiles(tmp_path / "state").write("engine:A01", 2, b"never committed")
        again = OutboxStore(tmp_path / "outbox.sqlite3", gateway="gw")
        await again.open()
        assert again.load_state("engine:A01") == b"committed"
        await again.submit(items(2, "alert"), state={"engine:A01": b"next"})   # overwrites the stray slot
        assert StateFiles(tmp_path / "state").load("engine:A01", None) == (2, b"next")
        await again.close()

    asyncio.run(run())


def test_a_corrupt_outbox_is_set_aside_and_the_engine_state_survives_it(tmp_path: Path) -> None:
    async def run() -> None:
        s = OutboxStore(tmp_path / "outbox.sqlite3", gateway="gw")
        await s.open()
        await s.submit(items(1, "alert"), state={"engine:A01": b"active overload"})
        await s.close()
        (tmp_path / "outbox.sqlite3").write_bytes(b"flash wear ate this" * 500)
        again = OutboxStore(tmp_path / "outbox.sqlite3", gateway="gw")
        await again.open()
        assert again.recovered_from is not None
        assert again.load_state("engine:A01") == b"active overload"
        await again.submit(items(2, "alert"), state={"engine:A01": b"cleared"})
        await again.close()
        third = OutboxStore(tmp_path / "outbox.sqlite3", gateway="gw")
        await third.open()
        assert third.load_state("engine:A01") == b"cleared"
        await third.close()

    asyncio.run(run())


def test_a_disk_filled_by_someone_else_while_running_does_not_stop_the_outbox(tmp_path: Path) -> None:
    """The ballast holds the budget: the outbox keeps storing (dropping its oldest summaries at its
    bound) and never has to hold anything in memory."""
    async def run() -> None:
        with small_disk(tmp_path / "disk", "1m") as disk:
            s = OutboxStore(disk / "outbox.sqlite3", gateway="gw", max_bytes=384 * 1024)
            await s.open()
            for n in range(20):
                await s.submit(items(n))
            fill(disk)
            ids = []
            for n in range(20, 600):
                kind = "alert" if n % 20 == 0 else "realtime"
                ids += await s.submit(items(n, kind), state={"engine:A01": b"%d" % n} if kind == "alert" else None)
            st = s.stats()
            assert None not in ids and st.store == "ok" and st.store_failures == 0
            assert st.dropped_summaries > 0 and st.dropped_alerts == 0
            assert st.disk_bytes + st.reserve_bytes <= 1.1 * 384 * 1024
            alerts = [p["n"] for p in await drain(s) if p["schema"] == "meterwatch.alert/2"]
            assert alerts == list(range(20, 600, 20))
            await s.close()

    asyncio.run(run())


def test_disk_full_before_the_outbox_exists_holds_drops_summaries_first_and_recovers(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)

    async def run() -> None:
        with small_disk(tmp_path / "disk", "1m") as disk:
            filler = fill(disk)
            s = OutboxStore(disk / "outbox.sqlite3", gateway="gw", max_bytes=256 * 1024)
            await s.open()                              # no exception: it cannot even create its files
            ids = []
            for n in range(200):
                kind = "alert" if n % 20 == 0 else "realtime"
                ids += await s.submit(items(n, kind), state={"engine:A01": b"S%d" % n} if kind == "alert" else None)
            held = s.stats()
            assert ids == [None] * 200 and held.store in ("full", "io") and s.degraded
            assert held.dropped_summaries > 0 and held.dropped_alerts == 0
            filler.unlink()
            for _ in range(100):
                if not s.degraded:
                    break
                await asyncio.sleep(0.1)
            st = s.stats()
            assert st.store == "ok" and st.pending == 0
            got = await drain(s)
            alerts = [p["n"] for p in got if p["schema"] == "meterwatch.alert/2"]
            summaries = [p["n"] for p in got if p["schema"] == "meterwatch.realtime/2"]
            assert alerts == list(range(0, 200, 20))
            produced = [n for n in range(200) if n % 20]
            assert summaries == produced[-len(summaries):]               # newest kept, in order
            assert st.dropped_summaries == len(produced) - len(summaries)
            assert s.load_state("engine:A01") == b"S180"                 # the latest held state went with them
            await s.close()

    asyncio.run(run())
    assert caplog.text.count("cannot store") == 1, "the error is logged once per episode"
    assert "storing again after" in caplog.text
