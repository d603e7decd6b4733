"""A pipelined load generator that speaks the client protocol directly.

Each of ``clients`` connections opens a session and keeps ``depth`` requests in flight:
as soon as a reply arrives, the next request goes out. That measures the server, not a
client library: kazoo's Python event loop would be the bottleneck long before either
server is.

Used by bench/run.py; it is a client, so it lives beside the benchmarks, not in zk/.
"""

from __future__ import annotations

import asyncio
import dataclasses
import struct
import time
from collections.abc import Callable

from zk.jute.codec import Record, Writer
from zk.jute.records import ACL, ConnectRequest, ConnectResponse, CreateRequest, GetDataRequest, Id, SetDataRequest
from zk.protocol.constants import OpCode

__all__ = ["WORKLOADS", "Result", "run_workload"]

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
