"""A loopback TCP port whose packets vanish: a device that lost power, or a cut cable, as the kernel sees it.

nftables drops, on the input hook, every IPv4/IPv6 packet to or from the port: the sender's kernel sends
and retransmits as it would to a dead device and hears nothing back — no FIN, no RST, no ACK. A proxy in
user space cannot do this (its kernel would acknowledge the data and the keepalive probes). One table per
blackhole (named after the port), removed on exit. ``nft`` is installed by ``make services``; without it,
or without the right to change the rules, the test fails loudly.
"""

from __future__ import annotations

import subprocess
from types import TracebackType

from tests.support.procs import require_binary

__all__ = ["Blackhole"]


class Blackhole:
    def __init__(self, port: int) -> None:
        self.port = port
        self.table = f"mw_blackhole_{port}"
        self.nft = require_binary("nft", "/usr/sbin/nft")
        self.on = False

    def _run(self, *args: str) -> None:
        done = subprocess.run([self.nft, *args], capture_output=True, text=True, timeout=10)
        if done.returncode != 0:
            raise RuntimeError(f"nft {' '.join(args)}: {done.stderr.strip() or done.returncode}")

    def drop(self) -> None:
        """From now on every packet to or from the port is dropped."""
        self._run("add", "table", "inet", self.table)
        self._run("add", "chain", "inet", self.table, "in",
                  "{ type filter hook input priority -10; policy accept; }")
        self._run("add", "rule", "inet", self.table, "in", "tcp", "dport", str(self.port), "drop")
        self._run("add", "rule", "inet", self.table, "in", "tcp", "sport", str(self.port), "drop")
        self.on = True

    def lift(self) -> None:
        if self.on:
            self._run("delete", "table", "inet", self.table)
            self.on = False

    def __enter__(self) -> Blackhole:
        self.drop()
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.lift()
