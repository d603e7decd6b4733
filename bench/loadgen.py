"""A pipelined load generator that speaks the client protocol directly.

Each of ``clients`` connections opens a session and keeps ``depth`` requests in flight:
as soon as a reply arrives, the next request goes out. That measures the server, not a
client library: kazoo's Python event loop would be the bottleneck long before either
server is.

`run_writers` puts depth-1 writers on given servers (an ensemble's members) and starts
the clock only once every session is open; `create_once` is one fresh session and one
create, the probe bench_election.py uses to see when writes succeed again.

Used by the scripts in bench/; it is a client, so it lives beside the benchmarks, not in zk/.
"""

from __future__ import annotations

import asyncio
import dataclasses
import struct
import time
from collections.abc import Callable, Sequence

from zk.jute.codec import Record, Writer
from zk.jute.records import ACL, ConnectRequest, ConnectResponse, CreateRequest, GetDataRequest, Id, SetDataRequest
from zk.protocol.constants import OpCode

__all__ = ["REFERENCE_JVM_FLAGS", "WORKLOADS", "Result", "create_once", "jvm_flags", "prepare", "run_workload",
           "run_writers"]  # fmt: skip

REFERENCE_JVM_FLAGS = ("-XX:TieredStopAtLevel=4", "-XX:-UseSerialGC", "-XX:+UseG1GC", "-Xmx4g")
"""ZooKeeper as Debian's zkServer.sh runs it: the JVM's own defaults (the full tiered JIT
with C2, G1 on this machine), with a heap of 4 GB (the default would be a quarter of the
RAM). They undo the lab's start-up flags (C1 only, serial GC, 256 MB), which suit tests
and would make ZooKeeper slower than it is; the lab puts extra flags last, so they win."""


def jvm_flags(kind: str) -> tuple[str, ...]:
    """The `jvm_flags` a benchmark passes to zk.lab for a server of `kind`."""
    return REFERENCE_JVM_FLAGS if kind == "reference" else ()


OPEN = [ACL(31, Id("world", "anyone"))]
_LEN = struct.Struct(">i")


@dataclasses.dataclass(frozen=True, slots=True)
class Result:
    ops: int
    seconds: float
    errors: int

    @property
    def ops_per_second(self) -> float:
        return self.ops / self.seconds if self.seconds else 0.0


# A workload makes the i-th request of client c: (opcode, record).
Workload = Callable[[int, int, str], tuple[int, Record]]


def _create(c: int, i: int, root: str) -> tuple[int, Record]:
    return OpCode.create, CreateRequest(f"{root}/c{c}-{i}", b"x" * 100, OPEN, 0)


def _get(c: int, i: int, root: str) -> tuple[int, Record]:
    return OpCode.getData, GetDataRequest(f"{root}/n{i % 100}", False)


def _set(c: int, i: int, root: str) -> tuple[int, Record]:
    return OpCode.setData, SetDataRequest(f"{root}/n{i % 100}", b"y" * 100, -1)


WORKLOADS: dict[str, Workload] = {"create": _create, "get": _get, "set": _set}


async def _session(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(host, port)
    req = ConnectRequest(0, 0, 30000, 0, bytes(16), False).to_bytes()
    writer.write(_LEN.pack(len(req)) + req)
    (n,) = _LEN.unpack(await reader.readexactly(4))
    ConnectResponse.from_bytes(await reader.readexactly(n))
    return reader, writer


def _frame(xid: int, op: int, body: Record) -> bytes:
    w = Writer()
    w.write_int(0)
    w.write_int(xid)
    w.write_int(op)
    body.encode(w)
    w.buf[0:4] = _LEN.pack(len(w.buf) - 4)
    return bytes(w.buf)


async def prepare(host: str, port: int, root: str) -> None:
    """The nodes the get and set workloads read and write."""
    reader, writer = await _session(host, port)
    for xid, path in enumerate([root] + [f"{root}/n{i}" for i in range(100)], start=1):
        writer.write(_frame(xid, OpCode.create, CreateRequest(path, b"x" * 100, OPEN, 0)))
    await writer.drain()
    for _ in range(101):
        (n,) = _LEN.unpack(await reader.readexactly(4))
        await reader.readexactly(n)
    writer.close()


async def run_workload(
    host: str, port: int, workload: str, *, clients: int, depth: int, total: int, root: str
) -> Result:
    make = WORKLOADS[workload]
    per_client = total // clients
    errors = 0

    async def one(c: int) -> None:
        nonlocal errors
        reader, writer = await _session(host, port)
        sent = 0
        for _ in range(min(depth, per_client)):
            sent += 1
            writer.write(_frame(sent, *make(c, sent, root)))
        done = 0
        while done < per_client:
            (n,) = _LEN.unpack(await reader.readexactly(4))
            body = await reader.readexactly(n)
            if int.from_bytes(body[0:4], "big", signed=True) < 0:
                continue  # a notification or ping, not an answer
            done += 1
            if int.from_bytes(body[12:16], "big", signed=True) != 0:
                errors += 1
            if sent < per_client:
                sent += 1
                writer.write(_frame(sent, *make(c, sent, root)))
        writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(one(c) for c in range(clients)))
    return Result(per_client * clients, time.perf_counter() - start, errors)


async def run_writers(addresses: Sequence[tuple[str, int]], *, per_writer: int, root: str) -> Result:
    """Depth-1 creates under `root` (which must exist): one writer per (host, port), each
    sending a create and waiting for its reply before the next.

    Every session is opened before the clock starts: in an ensemble, opening a session is
    itself a quorum write, and 64 of them at once are not what a write row measures.
    """
    sessions = await asyncio.gather(*(_session(host, port) for host, port in addresses))
    errors = 0

    async def one(c: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal errors
        for i in range(1, per_writer + 1):
            writer.write(_frame(i, *_create(c, i, root)))
            while True:
                (n,) = _LEN.unpack(await reader.readexactly(4))
                body = await reader.readexactly(n)
                if int.from_bytes(body[0:4], "big", signed=True) >= 0:
                    break  # an answer; negative xids are notifications and pings
            if int.from_bytes(body[12:16], "big", signed=True) != 0:
                errors += 1

    start = time.perf_counter()
    try:
        await asyncio.gather(*(one(c, r, w) for c, (r, w) in enumerate(sessions)))
    finally:
        seconds = time.perf_counter() - start
        for _, w in sessions:
            w.close()
    return Result(per_writer * len(sessions), seconds, errors)


async def create_once(host: str, port: int, path: str, timeout: float) -> int:
    """Open a fresh session and create `path` (persistent); the reply's error code (0: done).

    Raises:
        TimeoutError: No session or no reply within `timeout` seconds.
        OSError, asyncio.IncompleteReadError: The server refused or closed the connection
            (a member that is electing or syncing does not serve).
    """
    async with asyncio.timeout(timeout):
        reader, writer = await _session(host, port)
        try:
            writer.write(_frame(1, OpCode.create, CreateRequest(path, b"x", OPEN, 0)))
            while True:
                (n,) = _LEN.unpack(await reader.readexactly(4))
                body = await reader.readexactly(n)
                if int.from_bytes(body[0:4], "big", signed=True) == 1:
                    return int.from_bytes(body[12:16], "big", signed=True)
        finally:
            writer.close()
