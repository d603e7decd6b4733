"""A session, its ephemeral and its watch across a leader change (three of our servers).

A kazoo client connected to one follower only holds an ephemeral node and a data
watch; the leader is killed (-9). What ZooKeeper guarantees, asserted here:

* the session outlives the election: the client reconnects with the same session id
  (SUSPENDED, then CONNECTED, never LOST), because the new leader's session tracker
  starts from the synced sessions and gives each a fresh timeout;
* its ephemeral node exists on every server (the old leader too, once back), owned by
  that session: nothing closed it;
* its watch fires once on the next change.

Which case this is: a follower ends its term when its leader goes, and closes its
clients' connections (Java's Learner.shutdown → closeAllConnections), so the client's
connection does **not** survive the leader change, and the follower forgets the watch
with the connection. A Java client re-registers its watches on reconnect with
setWatches; kazoo 2.11 sends none. So the test sends the setWatches a Java client would
send (relativeZxid = the client's last zxid, the watched path) through kazoo's own
connection, and asserts the watch then fires exactly once. (Kazoo itself hands every
watcher a NONE event on the disconnect and drops it; the test puts the watcher back
into kazoo's table, where a Java client would still hold it.) If the connection did
survive, the setWatches step is skipped and the watch must fire on its own.
"""

from __future__ import annotations

import asyncio
import struct
import threading
from collections import namedtuple
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from kazoo.client import KazooClient, KazooState
from kazoo.protocol.serialization import write_string
from kazoo.protocol.states import WatchedEvent
from quorum_helpers import client, close, read_everywhere, until

from zk import lab
from zk.lab import Ensemble

pytestmark = pytest.mark.asyncio(loop_scope="module")

TICK = 200


class SetWatches(namedtuple("SetWatches", "relative_zxid data exist child")):
    """setWatches (101), as a Java client sends it after a reconnect."""

    type = 101

    def serialize(self) -> bytes:
        out = struct.pack(">q", self.relative_zxid)
        for paths in (self.data, self.exist, self.child):
            out += struct.pack(">i", len(paths)) + b"".join(write_string(p) for p in paths)
        return out

    @classmethod
    def deserialize(cls, buf: bytes, offset: int) -> Any:
        return True


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def ens() -> AsyncIterator[Ensemble]:
    # sessions of up to 15 s: the client's 10 s is not cut to 20 ticks (4 s)
    async with lab.ensemble(3, kind="ours", tickTime=TICK, syncLimit=5, initLimit=10, maxSessionTimeout=15000) as e:
        yield e


async def test_session_ephemeral_and_watch_survive_a_leader_change(ens: Ensemble) -> None:
    leader = await ens.wait_for_leader()
    follower, other = [s for s in ens if s is not leader]
    states: list[KazooState] = []
    events: list[WatchedEvent] = []
    fired = threading.Event()

    def on_change(event: WatchedEvent) -> None:
        events.append(event)
        fired.set()

    w = await asyncio.to_thread(client, other.connect_string)
    c = await asyncio.to_thread(client, follower.connect_string)  # this follower only: it cannot move
    try:
        c.add_listener(states.append)
        await asyncio.to_thread(w.create, "/watched", b"v0")
        await asyncio.to_thread(c.sync, "/watched")
        await asyncio.to_thread(c.create, "/eph", b"mine", ephemeral=True)
        session_id = c.client_id[0]
        assert (await asyncio.to_thread(c.get, "/watched", on_change))[0] == b"v0"

        await leader.kill()
        new_leader = await ens.wait_for_leader(timeout=30)
        assert new_leader is not leader
        await follower.wait_ready()
        await until(lambda: c.connected and (not states or states[-1] == KazooState.CONNECTED), "the reconnect", 30)

        assert KazooState.LOST not in states, states  # the session was never expired
        assert c.client_id[0] == session_id
        connection_survived = KazooState.SUSPENDED not in states
        assert all(e.type == "NONE" for e in events), events  # at most the disconnect notice
        if not connection_survived:
            # Kazoo told the watcher of the disconnect (type NONE, like Java's Disconnected
            # event) and dropped it from its table; a Java client keeps it and re-registers
            # it with setWatches. Do what the Java client does.
            c._data_watchers["/watched"].add(on_change)
            result = c.handler.async_result()
            c._call(SetWatches(c.last_zxid, ["/watched"], [], []), result)
            assert await asyncio.to_thread(result.get, True, 10) is True
        await asyncio.sleep(0.2)
        assert all(e.type == "NONE" for e in events), "nothing changed since the client's last zxid: no event"
        events.clear()

        await leader.restart()  # the old leader comes back as a follower
        await ens.wait_ready()

        def owner(r: KazooClient) -> int | None:
            stat = r.exists("/eph")
            return None if stat is None else stat.ephemeralOwner

        assert await asyncio.to_thread(read_everywhere, ens, owner) == [session_id] * 3

        await asyncio.to_thread(w.set, "/watched", b"v1")
        assert await asyncio.to_thread(fired.wait, 10), (
            f"the watch never fired (connection survived: {connection_survived})"
        )
        await asyncio.to_thread(w.set, "/watched", b"v2")
        await asyncio.to_thread(c.sync, "/watched")  # v2's notification would have come before this reply
        assert len(events) == 1, events  # a watch fires once
        assert events[0].path == "/watched" and events[0].type == "CHANGED"
        # which case ran (see the module docstring): our follower closes its clients' connections
        assert not connection_survived
    finally:
        await asyncio.to_thread(close, c)  # closing the session removes the ephemeral

    def gone() -> bool:
        w.sync("/")
        return w.exists("/eph") is None

    try:
        assert await asyncio.to_thread(gone)
    finally:
        await asyncio.to_thread(close, w)
