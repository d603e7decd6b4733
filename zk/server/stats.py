"""ServerStats and the per-connection stats: the counters the four-letter words print.

Two sets of numbers, kept apart as ZooKeeper keeps them:

* ``ServerStats``: packets received and sent by every connection (a four-letter word
  counts as one received packet), and the latency of every request answered, min/avg/max
  in ms. ``srst`` resets them; ``srvr``, ``stat`` and ``mntr`` print them.
* ``ConnectionStats``: what one connection last did (operation, cxid, zxid, when, how
  long) and its own min/avg/max latency. ``crst`` resets them; ``cons`` prints them.

A request's latency runs from the moment the server turned the packet into a Request
(``create_time``) to the moment FinalRequestProcessor answered it, both on the elapsed
(monotonic) clock, in whole ms.

Mirrors: org.apache.zookeeper.server.ServerStats, the counters of
org.apache.zookeeper.server.ServerCnxn (packetsReceived, lastOp, minLatency, ...,
resetStats, updateStatsForResponse), org.apache.zookeeper.server.metric.AvgMinMaxCounter
and FinalRequestProcessor's ``lastOp`` names.
"""

from __future__ import annotations

import dataclasses
from decimal import ROUND_HALF_UP, Decimal

from zk.protocol.constants import OpCode

__all__ = ["LAST_OP", "ConnectionStats", "ServerStats", "java_double"]

# Long.MAX_VALUE: the "no sample yet" minimum after a reset (ServerCnxn.resetStats).
_LONG_MAX = (1 << 63) - 1

LAST_OP: dict[int, str] = {
    OpCode.ping: "PING",
    OpCode.createSession: "SESS",
    OpCode.multi: "MULT",
    OpCode.multiRead: "MLTR",
    OpCode.create: "CREA",
    OpCode.create2: "CREA",
    OpCode.createTTL: "CREA",
    OpCode.createContainer: "CREA",
    OpCode.delete: "DELE",
    OpCode.deleteContainer: "DELE",
    OpCode.setData: "SETD",
    OpCode.reconfig: "RECO",
    OpCode.setACL: "SETA",
    OpCode.closeSession: "CLOS",
    OpCode.sync: "SYNC",
    OpCode.check: "CHEC",
    OpCode.exists: "EXIS",
    OpCode.getData: "GETD",
    OpCode.setWatches: "SETW",
    OpCode.setWatches2: "STW2",
    OpCode.addWatch: "ADDW",
    OpCode.getACL: "GETA",
    OpCode.getChildren: "GETC",
    OpCode.getChildren2: "GETC",
    OpCode.getAllChildrenNumber: "GETACN",
    OpCode.checkWatches: "CHKW",
    OpCode.removeWatches: "REMW",
    OpCode.whoAmI: "HOMI",
    OpCode.getEphemerals: "GETE",
}
"""Opcode -> the ``lop=`` name ``cons`` prints (FinalRequestProcessor's ``lastOp``);
any other opcode is ``NA``."""


def java_double(value: float) -> str:
    """``value`` as Java's ``Double.toString`` writes it: ``2.0``, ``0.1429``, ``1.0E-4``.

    Python's ``repr`` picks the same digits (the shortest string that reads back as the
    same double) but switches to scientific notation elsewhere: Java does below 10^-3
    and from 10^7 on, with a mantissa that always has a decimal point.
    """
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        return repr(float(value))
    shortest = Decimal(repr(abs(float(value)))).normalize().as_tuple()
    digits = "".join(map(str, shortest.digits))
    exponent = len(digits) - 1 + int(shortest.exponent)
    sign = "-" if value < 0 else ""
    return f"{sign}{digits[0]}.{digits[1:] or '0'}E{exponent}"


def _avg4(total: int, count: int) -> float:
    """AvgMinMaxCounter.getAvg: the mean rounded half-up to 4 decimals (0 for none)."""
    if count == 0:
        return 0.0
    exact = Decimal(total / count)  # BigDecimal(double): the double's exact value
    return float(exact.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


@dataclasses.dataclass(slots=True)
class ServerStats:
    """Totals since start, or since the last ``srst``.

    Mirrors: org.apache.zookeeper.server.ServerStats (packetsReceived, packetsSent and
    the ``request_latency`` AvgMinMaxCounter).
    """

    packets_received: int = 0
    packets_sent: int = 0
    min_latency_raw: int = _LONG_MAX  # Long.MAX_VALUE until the first sample
    max_latency: int = 0
    total_latency: int = 0
    count: int = 0

    def update_latency(self, latency_ms: int) -> None:
        """One answered request (ServerStats.updateLatency); a negative latency, from a
        clock step, is dropped as Java drops it."""
        if latency_ms < 0:
            return
        self.min_latency_raw = min(self.min_latency_raw, latency_ms)
        self.max_latency = max(self.max_latency, latency_ms)
        self.total_latency += latency_ms
        self.count += 1

    @property
    def min_latency(self) -> int:
        return 0 if self.min_latency_raw == _LONG_MAX else self.min_latency_raw

    @property
    def avg_latency(self) -> float:
        """Rounded half-up to 4 decimals, as AvgMinMaxCounter.getAvg."""
        return _avg4(self.total_latency, self.count)

    def latency_line(self) -> str:
        """``Latency min/avg/max: 0/2.0/5`` (the avg in Java's double format)."""
        return f"Latency min/avg/max: {self.min_latency}/{java_double(self.avg_latency)}/{self.max_latency}"

    def reset(self) -> None:
        """``srst``: latency and packet counters back to zero (ServerStats.reset)."""
        self.packets_received = self.packets_sent = 0
        self.min_latency_raw, self.max_latency, self.total_latency, self.count = _LONG_MAX, 0, 0, 0


@dataclasses.dataclass(slots=True)
class ConnectionStats:
    """One connection's last response and its own latencies.

    The fields start as Java's do on a fresh connection, before any reset: the minimum
    latency 0 (so ``minlat`` stays 0 until a ``crst``), ``last_op`` the string "null". ``touched_ms`` is
    not a statistic but the connection's expiry clock for ``dump`` (the last time a
    request was answered), so ``crst`` leaves it alone.

    Mirrors: the statistics fields of org.apache.zookeeper.server.ServerCnxn.
    """

    min_latency_raw: int = 0  # Java's field starts at 0, not Long.MAX_VALUE
    max_latency: int = 0
    total_latency: int = 0
    count: int = 0
    last_op: str = "null"
    last_cxid: int = 0
    last_zxid: int = 0
    last_response_time: int = 0
    last_latency: int = 0
    touched_ms: int = 0

    def update_for_response(self, cxid: int, zxid: int, op: int, start_ms: int, end_ms: int) -> None:
        """A request of this connection was answered (ServerCnxn.updateStatsForResponse)."""
        if cxid >= 0:  # a ping's or notification's special xid is not the client's last op
            self.last_cxid = cxid
        self.last_zxid = zxid
        self.last_op = LAST_OP.get(op, "NA")
        self.last_response_time = self.touched_ms = end_ms
        elapsed = end_ms - start_ms
        self.last_latency = elapsed
        self.min_latency_raw = min(self.min_latency_raw, elapsed)
        self.max_latency = max(self.max_latency, elapsed)
        self.count += 1
        self.total_latency += elapsed

    @property
    def min_latency(self) -> int:
        return 0 if self.min_latency_raw == _LONG_MAX else self.min_latency_raw

    @property
    def avg_latency(self) -> int:
        """Whole ms, integer division, as ServerCnxn.getAvgLatency."""
        return self.total_latency // self.count if self.count else 0

    def reset(self) -> None:
        """``crst`` (ServerCnxn.resetStats; the packet counters live on the connection)."""
        self.min_latency_raw, self.max_latency, self.total_latency, self.count = _LONG_MAX, 0, 0, 0
        self.last_op, self.last_cxid, self.last_zxid = "NA", -1, -1
        self.last_response_time = self.last_latency = 0
