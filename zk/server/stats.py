"""ServerStats: the counters the four-letter words print.

Mirrors: org.apache.zookeeper.server.ServerStats (latency min/avg/max, packets received
and sent) and the per-connection counters of ServerCnxn.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

__all__ = ["ServerStats"]


class _Counted(Protocol):
    packets_received: int
    packets_sent: int


@dataclasses.dataclass(slots=True)
class ServerStats:
    """Totals since start (or since ``srst``). Packets of live connections are added on
    demand by the caller; closed connections fold theirs in here."""

    min_latency: int = 0
    max_latency: int = 0
    total_latency: int = 0
    count: int = 0
    closed_received: int = 0
    closed_sent: int = 0

    def update_latency(self, latency_ms: int) -> None:
        if latency_ms < 0:
            return
        if self.count == 0 or latency_ms < self.min_latency:
            self.min_latency = latency_ms
        self.max_latency = max(self.max_latency, latency_ms)
        self.total_latency += latency_ms
        self.count += 1

    @property
    def avg_latency(self) -> float:
        return self.total_latency / self.count if self.count else 0.0

    def connection_closed(self, cnxn: _Counted) -> None:
        self.closed_received += cnxn.packets_received
        self.closed_sent += cnxn.packets_sent

    def reset(self) -> None:
        self.min_latency = self.max_latency = self.total_latency = self.count = 0
