"""A producer process for kill tests: submits a numbered stream through the real outbox + publisher.

    python -m tests.support.producer --url mqtt://127.0.0.1:1883 --state-dir DIR [--drain]

Prints ``connected`` once, then one ``msg_id`` per line after ``submit`` returned (the message is
durably in the outbox), flushed at once so a SIGKILL loses no line that was printed. Alternates an
alert topic and a realtime topic. ``--drain`` submits nothing: waits until the outbox is empty, stops
cleanly and prints ``drained``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from edge.publish.mqtt import MqttSettings
from edge.publish.publisher import Publisher, PublisherSettings

PREFIX = "meterwatch/v2/gw-t/grid-t/A01"


async def main(args: argparse.Namespace) -> int:
    pub = Publisher(PublisherSettings(gateway=args.gateway, state_dir=Path(args.state_dir)),
                    MqttSettings(url=args.url, client_id=args.gateway, reconnect_min_s=0.1,
                                 reconnect_max_s=0.5, inflight=args.inflight))
    await pub.start()
    if args.drain:
        ok = await pub.wait_drained(30)
        await pub.stop(5)
        print("drained" if ok else "not drained", flush=True)
        return 0 if ok else 1
    for _ in range(200):
        if pub.connected:
            print("connected", flush=True)
            break
        await asyncio.sleep(0.02)
    n = 0
    while True:
        kind, suffix = ("alert", "alert") if n % 2 else ("realtime", "summary/realtime")
        msg_id = await pub.submit(f"{PREFIX}/{suffix}", {"schema": f"meterwatch.{kind}/1", "n": n}, kind=kind)
        sys.stdout.write(msg_id + "\n")
        sys.stdout.flush()
        n += 1
        await asyncio.sleep(args.interval_s)


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--state-dir", required=True)
    p.add_argument("--gateway", default="gw-kill")
    p.add_argument("--interval-s", type=float, default=0.002)
    p.add_argument("--inflight", type=int, default=16)
    p.add_argument("--drain", action="store_true")
    sys.exit(asyncio.run(main(p.parse_args())))
