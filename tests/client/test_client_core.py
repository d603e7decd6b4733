"""The connection core with fake bytes and a fake clock: no sockets, no servers.

A tiny fake server (``FakeServer``) decodes what the core writes and builds the replies a
real server would send. Each test cites the Java it checks.
"""

from __future__ import annotations

import random

import pytest

from zk.client.cnxn import (
    ClientCnxn,
    EventOfDeath,
    PacketFinished,
    ProtocolError,
    SessionExpiredError,
    SessionTimeoutError,
    WatcherSetEventPair,
)
from zk.client.host_provider import ConnectStringParser, StaticHostProvider, prepend_chroot, strip_chroot
from zk.client.packet import Packet
from zk.client.states import TRANSITIONS, IllegalTransition, Input, States, transition
from zk.client.watch_manager import WatchKind, ZKWatchManager
from zk.jute.codec import Reader, Writer
from zk.jute.records import (
    AuthPacket,
    ConnectResponse,
    GetDataRequest,
    GetDataResponse,
    ReplyHeader,
    RequestHeader,
    SetWatches,
    SetWatches2,
    Stat,
    WatcherEvent,
)
from zk.protocol.connect import parse_connect_request
from zk.protocol.constants import (
    AUTHPACKET_XID,
    NOTIFICATION_XID,
    PING_XID,
    EventType,
    KeeperState,
    OpCode,
    WatcherType,
)
from zk.protocol.errors import Code, NoWatcherException
from zk.protocol.framing import FrameDecoder, frame
from zk.protocol.messages import REQUEST_RECORDS
from zk.watch.events import WatchedEvent

STAT = Stat(1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1)
PASSWD = bytes(range(16))


class FakeServer:
    """Decodes the client's bytes; builds a server's replies."""

    def __init__(self) -> None:
        self.decoder = FrameDecoder()
        self.handshake_done = False

    def read(self, data: bytes) -> list[tuple[RequestHeader | None, object]]:
        out: list[tuple[RequestHeader | None, object]] = []
        for payload in self.decoder.feed(data):
            if not self.handshake_done:
                self.handshake_done = True
                out.append((None, parse_connect_request(payload).request))
                continue
            r = Reader(payload)
            hdr = RequestHeader.decode(r)
            rec_cls = REQUEST_RECORDS.get(OpCode(hdr.type))
            out.append((hdr, rec_cls.decode(r) if rec_cls else None))
        return out

    @staticmethod
    def connect_response(session_id: int = 0x42, timeout: int = 30_000, read_only: bool = False) -> bytes:
        return frame(ConnectResponse(0, timeout, session_id, PASSWD, read_only).to_bytes())

    @staticmethod
    def reply(xid: int, zxid: int = 0, err: int = 0, body: object = None) -> bytes:
        w = Writer()
        ReplyHeader(xid, zxid, err).encode(w)
        if body is not None:
            body.encode(w)  # type: ignore[attr-defined]
        return frame(w.getvalue())

    @staticmethod
    def notification(type: EventType, path: str) -> bytes:
        return FakeServer.reply(NOTIFICATION_XID, -1, 0, WatcherEvent(int(type), int(KeeperState.SyncConnected), path))


def make_cnxn(timeout: int = 30_000, hosts: int = 1, **kw: object) -> ClientCnxn:
    hp = StaticHostProvider([("h", i) for i in range(hosts)], random.Random(1))
    return ClientCnxn(hp, timeout, rng=random.Random(1), **kw)  # type: ignore[arg-type]


def connect(c: ClientCnxn, server: FakeServer, now: float = 0.0, **rsp: object) -> list[object]:
    """Drive a connection up to CONNECTED; returns what the client wrote first."""
    c.start_connect(now)
    c.tcp_connected(now)
    sent = server.read(c.data_to_send(now))
    c.data_received(FakeServer.connect_response(**rsp), now)  # type: ignore[arg-type]
    return sent


def get_data(c: ClientCnxn, path: str, watcher: object = None) -> Packet:
    from zk.client.packet import WatchRegistration

    reg = WatchRegistration(WatchKind.DATA, path, watcher) if watcher else None  # type: ignore[arg-type]
    p = Packet(OpCode.getData, GetDataRequest(path, reg is not None), GetDataResponse, client_path=path)
    p.watch_registration = reg
    return c.queue_packet(p)


def finished(outputs: list[object]) -> list[Packet]:
    return [o.packet for o in outputs if isinstance(o, PacketFinished)]


def state_events(outputs: list[object]) -> list[KeeperState]:
    return [o.event.state for o in outputs if isinstance(o, WatcherSetEventPair) and o.event.type is EventType.NONE]


# -- the state table ---------------------------------------------------------------------


def test_closed_and_auth_failed_are_final() -> None:
    """ZooKeeper.States.isAlive: CLOSED and AUTH_FAILED never reconnect."""
    for (state, _event), new in TRANSITIONS.items():
        if not state.is_alive():
            assert new is state
    with pytest.raises(IllegalTransition, match="CLOSED cannot take start_connect"):
        transition(States.CLOSED, Input.start_connect)


def test_connected_only_through_the_handshake() -> None:
    assert transition(States.ASSOCIATING, Input.session_established) is States.CONNECTED
    assert transition(States.ASSOCIATING, Input.session_established_ro) is States.CONNECTEDREADONLY
    with pytest.raises(IllegalTransition):
        transition(States.CONNECTING, Input.session_established)


# -- the handshake ----------------------------------------------------------------------


def test_only_the_connect_request_goes_before_the_connect_response() -> None:
    """ClientCnxnSocketNIO.doIO: on a new socket write the ConnectRequest, then nothing
    until the ConnectResponse has been read."""
    c, s = make_cnxn(), FakeServer()
    c.start_connect(0)
    p = get_data(c, "/a")  # queued while connecting
    c.tcp_connected(0)
    first = s.read(c.data_to_send(0))
    assert len(first) == 1 and first[0][0] is None  # the ConnectRequest, alone
    assert c.data_to_send(0) == b""
    assert c.state is States.ASSOCIATING
    c.data_received(FakeServer.connect_response(), 1)
    assert c.state is States.CONNECTED and c.session_id == 0x42 and c.session_passwd == PASSWD
    [(hdr, rec)] = s.read(c.data_to_send(1))
    assert hdr is not None and hdr.xid == 1 and hdr.type == OpCode.getData and rec == GetDataRequest("/a", False)
    assert list(c.pending_queue) == [p]
    assert state_events(c.events()) == [KeeperState.SyncConnected]


def test_timeouts_follow_the_negotiated_session_timeout() -> None:
    """onConnected: readTimeout = timeout * 2 / 3, connectTimeout = timeout / #hosts."""
    c = make_cnxn(timeout=30_000, hosts=3)
    assert (c.read_timeout, c.connect_timeout) == (20_000, 10_000)
    connect(c, FakeServer(), timeout=9_000)
    assert (c.read_timeout, c.connect_timeout, c.negotiated_session_timeout) == (6_000, 3_000, 9_000)


# -- xids and the pending queue ------------------------------------------------------------


def test_replies_are_matched_in_xid_order() -> None:
    c, s = make_cnxn(), FakeServer()
    connect(c, s)
    a, b = get_data(c, "/a"), get_data(c, "/b")
    sent = s.read(c.data_to_send(0))
    assert [h.xid for h, _ in sent] == [1, 2]  # type: ignore[union-attr]
    c.data_received(FakeServer.reply(1, 7, 0, GetDataResponse(b"A", STAT)), 1)
    c.data_received(FakeServer.reply(2, 8, int(Code.NONODE)), 1)
    assert finished(c.events()) == [a, b]
    assert a.response == GetDataResponse(b"A", STAT) and a.zxid == 7 and b.err == Code.NONODE
    assert c.last_zxid == 8 and not c.pending_queue


def test_a_reply_out_of_order_is_a_protocol_error() -> None:
    """readResponse: "Xid out of order"; the packet fails with CONNECTIONLOSS, and so do
    the others once the connection is dropped."""
    c, s = make_cnxn(), FakeServer()
    connect(c, s)
    a, b = get_data(c, "/a"), get_data(c, "/b")
    s.read(c.data_to_send(0))
    c.events()
    with pytest.raises(ProtocolError, match="Xid out of order"):
        c.data_received(FakeServer.reply(2), 1)
    assert a.err == Code.CONNECTIONLOSS and a.finished
    c.connection_lost(1, "protocol error")
    assert b.err == Code.CONNECTIONLOSS and b.finished
    assert c.state is States.CONNECTING


def test_a_reply_with_nothing_pending_is_a_protocol_error() -> None:
    c, s = make_cnxn(), FakeServer()
    connect(c, s)
    with pytest.raises(ProtocolError, match="Nothing in the queue"):
        c.data_received(FakeServer.reply(5), 1)


def test_xids_skip_from_max_int_to_one() -> None:
    """getXid: never a negative (special) xid."""
    c = make_cnxn()
    c.xid = 2**31 - 1
    assert c.get_xid() == 1


# -- pings and timeouts with a fake clock ------------------------------------------------------


def test_ping_after_read_timeout_over_two_idle_minus_a_second() -> None:
    """SendThread.run: timeToNextPing = readTimeout/2 - idleSend - (idleSend > 1000 ? 1000 : 0)."""
    c, s = make_cnxn(timeout=30_000), FakeServer()
    connect(c, s)  # readTimeout 20000: a ping once 9000 ms pass without a send
    c.events()
    assert c.tick(8_999) == 1  # ms until the ping is due
    assert c.data_to_send(8_999) == b""
    c.tick(9_000)
    [(hdr, body)] = s.read(c.data_to_send(9_000))
    assert hdr is not None and (hdr.xid, hdr.type, body) == (PING_XID, OpCode.ping, None)
    assert not c.pending_queue  # pings are never pending
    c.data_received(FakeServer.reply(PING_XID), 9_001)
    assert c.events() == []


def test_short_timeouts_ping_earlier() -> None:
    c, s = make_cnxn(timeout=3_000), FakeServer()
    connect(c, s, timeout=3_000)  # readTimeout 2000: ping at 1000 - idle, and a second earlier past 1s
    assert c.tick(999) == 1
    c.tick(1_000)
    assert [h.type for h, _ in s.read(c.data_to_send(1_000))] == [OpCode.ping]  # type: ignore[union-attr]


def test_silence_for_read_timeout_ends_the_connection() -> None:
    c, s = make_cnxn(timeout=30_000), FakeServer()
    connect(c, s)
    for t in range(9_000, 20_000, 9_000):  # the pings go out but nothing comes back
        c.tick(t)
        c.data_to_send(t)
    with pytest.raises(SessionTimeoutError, match="have not heard from server in 20000ms"):
        c.tick(20_000)


def test_connect_timeout_bounds_the_handshake() -> None:
    c = make_cnxn(timeout=30_000, hosts=2)  # connectTimeout 15000
    c.start_connect(0)
    c.tcp_connected(0)
    c.data_to_send(0)
    assert c.tick(14_000) == 1_000
    with pytest.raises(SessionTimeoutError):
        c.tick(15_000)


# -- reconnects: same session, watches and auth re-sent -----------------------------------------


def test_reconnect_resumes_the_session_and_sends_auth_then_set_watches() -> None:
    """primeConnection: ConnectRequest(lastZxid, sessionId, passwd), the auth packets,
    setWatches with relativeZxid = lastZxid, then what was queued meanwhile."""
    c, s = make_cnxn(chroot="/app"), FakeServer()
    connect(c, s)
    w = c.watch_manager
    w.register(WatchKind.DATA, "/d", print, Code.OK)
    w.register(WatchKind.EXIST, "/e", print, Code.NONODE)
    w.register(WatchKind.CHILD, "/", print, Code.OK)
    c.add_auth_info("digest", b"u:p")
    s.read(c.data_to_send(0))
    c.data_received(FakeServer.reply(AUTHPACKET_XID), 0)
    p = get_data(c, "/a")
    s.read(c.data_to_send(0))
    c.data_received(FakeServer.reply(1, 0x500, int(Code.NONODE)), 0)
    c.events()

    c.connection_lost(10, "EOF")
    assert c.state is States.CONNECTING
    assert state_events(c.events()) == [KeeperState.Disconnected]
    q = get_data(c, "/b")  # queued while disconnected
    s2 = FakeServer()
    sent = connect(c, s2, now=20)
    [(_, conreq)] = sent
    assert (conreq.sessionId, conreq.passwd, conreq.lastZxidSeen) == (0x42, PASSWD, 0x500)  # type: ignore[attr-defined]
    after = s2.read(c.data_to_send(20))
    assert [h.type for h, _ in after] == [OpCode.auth, OpCode.setWatches, OpCode.getData]  # type: ignore[union-attr]
    assert after[0][1] == AuthPacket(0, "digest", b"u:p")
    assert after[1][1] == SetWatches(0x500, ["/app/d"], ["/app/e"], ["/app"])
    # setWatches takes the next xid and waits in the pending queue like any request
    assert [h.xid for h, _ in after] == [AUTHPACKET_XID, 2, 3]  # type: ignore[union-attr]
    assert p.finished and not q.finished


def test_persistent_watches_need_set_watches2() -> None:
    c, s = make_cnxn(), FakeServer()
    connect(c, s)
    c.watch_manager.register(WatchKind.PERSISTENT_RECURSIVE, "/r", print, Code.OK)
    c.connection_lost(1)
    s2 = FakeServer()
    connect(c, s2, now=2)
    [(hdr, rec)] = s2.read(c.data_to_send(2))
    assert hdr is not None and hdr.type == OpCode.setWatches2
    assert rec == SetWatches2(0, [], [], [], [], ["/r"])


def test_a_client_never_on_a_read_write_server_asks_for_a_new_session() -> None:
    """primeConnection: sessId = seenRwServerBefore ? sessionId : 0."""
    c, s = make_cnxn(can_be_read_only=True), FakeServer()
    connect(c, s, read_only=True)
    assert c.state is States.CONNECTEDREADONLY
    c.connection_lost(1)
    [(_, conreq)] = connect(c, FakeServer(), now=2)
    assert conreq.sessionId == 0 and conreq.readOnly  # type: ignore[attr-defined]


def test_repeated_failures_give_one_disconnected_event() -> None:
    """EventThread.queueEvent drops a state event equal to the last one queued."""
    c, s = make_cnxn(), FakeServer()
    connect(c, s)
    c.connection_lost(1)
    for t in range(2, 5):
        c.start_connect(t)
        c.connection_lost(t, "refused")
    assert state_events(c.events()) == [KeeperState.SyncConnected, KeeperState.Disconnected]


def test_expired_on_resume_closes_the_client_once() -> None:
    """onConnected: a timeout <= 0 means the session expired: CLOSED, Expired to every
    watcher, and every later request fails with SESSIONEXPIRED."""
    seen: list[WatchedEvent] = []
    c, s = make_cnxn(default_watcher=seen.append), FakeServer()
    connect(c, s)
    c.watch_manager.register(WatchKind.DATA, "/d", seen.append, Code.OK)
    c.connection_lost(1)
    c.start_connect(2)
    c.tcp_connected(2)
    FakeServer().read(c.data_to_send(2))
    with pytest.raises(SessionExpiredError):
        c.data_received(FakeServer.connect_response(session_id=0, timeout=0), 3)
    assert c.state is States.CLOSED
    c.connection_lost(3, "expired")  # what the shell does next: nothing more is queued
    c.closed(3)
    outs = c.events()
    assert state_events(outs) == [
        KeeperState.SyncConnected,
        KeeperState.Disconnected,
        KeeperState.Expired,
        KeeperState.Closed,
    ]
    assert isinstance(outs[-1], EventOfDeath)
    assert get_data(c, "/x").err == Code.SESSIONEXPIRED


def test_auth_failed_is_final() -> None:
    c, s = make_cnxn(), FakeServer()
    connect(c, s)
    a = c.add_auth_info("nope", b"x")
    s.read(c.data_to_send(0))
    c.data_received(FakeServer.reply(AUTHPACKET_XID, 0, int(Code.AUTHFAILED)), 1)
    assert c.state is States.AUTH_FAILED and a is not None and a.err == Code.AUTHFAILED
    assert KeeperState.AuthFailed in state_events(c.events())
    assert get_data(c, "/x").err == Code.AUTHFAILED


# -- notifications and the watch manager ------------------------------------------------------


def test_notifications_lose_the_chroot_and_go_to_their_watchers() -> None:
    got: list[WatchedEvent] = []
    c, s = make_cnxn(chroot="/app"), FakeServer()
    connect(c, s)
    get_data(c, "/a", got.append)
    s.read(c.data_to_send(0))
    c.data_received(FakeServer.reply(1, 3, 0, GetDataResponse(b"", STAT)), 0)
    c.events()
    c.data_received(FakeServer.notification(EventType.NodeDataChanged, "/app/a"), 1)
    [pair] = c.events()
    assert isinstance(pair, WatcherSetEventPair)
    assert pair.watchers == (got.append,)
    assert pair.event == WatchedEvent(EventType.NodeDataChanged, KeeperState.SyncConnected, "/a")
    c.data_received(FakeServer.notification(EventType.NodeDataChanged, "/app/a"), 2)
    [again] = c.events()
    assert isinstance(again, WatcherSetEventPair) and again.watchers == ()  # one-shot: gone


def test_watch_manager_rules() -> None:
    """ZKWatchManager.materialize, event type by event type."""
    m = ZKWatchManager()

    def w(name: str) -> object:
        def watcher(e: WatchedEvent) -> None:
            pass

        watcher.__name__ = name
        return watcher

    data, exist, child, pers, rec = (w(n) for n in ("data", "exist", "child", "pers", "rec"))
    m.register(WatchKind.DATA, "/a", data, Code.OK)  # type: ignore[arg-type]
    assert not m.register(WatchKind.DATA, "/gone", data, Code.NONODE)  # type: ignore[arg-type]
    m.register(WatchKind.EXIST, "/b", exist, Code.NONODE)  # type: ignore[arg-type]
    m.register(WatchKind.CHILD, "/a", child, Code.OK)  # type: ignore[arg-type]
    m.register(WatchKind.PERSISTENT, "/a", pers, Code.OK)  # type: ignore[arg-type]
    m.register(WatchKind.PERSISTENT_RECURSIVE, "/", rec, Code.OK)  # type: ignore[arg-type]
    sc = KeeperState.SyncConnected
    assert m.materialize(sc, EventType.NodeChildrenChanged, "/a") == [child, pers, rec]
    assert m.materialize(sc, EventType.NodeDataChanged, "/a") == [data, pers, rec]
    assert m.materialize(sc, EventType.NodeDataChanged, "/a") == [pers, rec]  # one-shots gone
    assert m.materialize(sc, EventType.NodeCreated, "/b") == [exist, rec]
    assert m.materialize(sc, EventType.NodeDeleted, "/a/x") == [rec]
    assert set(m.materialize(KeeperState.Disconnected, EventType.NONE, None)) == {pers, rec}


def test_remove_watches_reports_what_each_watcher_gets() -> None:
    m = ZKWatchManager()
    m.register(WatchKind.DATA, "/a", print, Code.OK)
    m.register(WatchKind.CHILD, "/a", repr, Code.OK)
    removed = m.remove_watcher("/a", None, WatcherType.Any, False, Code.OK)
    assert removed == {EventType.ChildWatchRemoved: [repr], EventType.DataWatchRemoved: [print]}
    with pytest.raises(NoWatcherException):
        m.remove_watcher("/a", None, WatcherType.Any, False, Code.OK)


# -- host provider and chroot ---------------------------------------------------------------


def test_connect_string_and_host_provider() -> None:
    p = ConnectStringParser("a:1,b,[::1]:3/app/x")
    assert p.server_addresses == [("a", 1), ("b", 2181), ("::1", 3)] and p.chroot_path == "/app/x"
    assert ConnectStringParser("a:1/").chroot_path is None
    hp = StaticHostProvider(p.server_addresses, random.Random(0))
    tries = [hp.next(1000) for _ in range(4)]
    assert sorted(a for a, _ in tries[:3]) == sorted(p.server_addresses)
    assert [d for _, d in tries] == [0, 0, 0, 1000]  # a whole round failed: spin
    hp.on_connected()
    assert hp.next(1000)[1] == 0


def test_chroot_both_ways() -> None:
    assert prepend_chroot("/app", "/") == "/app" and prepend_chroot("/app", "/a") == "/app/a"
    assert strip_chroot("/app", "/app") == "/" and strip_chroot("/app", "/app/a") == "/a"
    assert strip_chroot("/app", "/zookeeper/config") == "/zookeeper/config"
    assert prepend_chroot(None, "/a") == strip_chroot(None, "/a") == "/a"
