"""The differential harness: one scripted scenario, run on ours and on Apache ZooKeeper 3.8.

A scenario is a plain function that takes a [Script][] and drives one or more kazoo
clients through it, one *step* at a time. The harness starts a fresh server of each kind
(both start at zxid 0), runs the scenario against both at once (two threads), and
returns two *transcripts*: one line per step, holding

* what the call returned (Stats as dicts without ctime/mtime, ACLs as ``perms scheme:id``)
  or the kazoo exception it raised, by name;
* ``zxid``: the zxid of the reply header the client last saw, so every zxid the server
  consumed (failed writes, createSession, closeSession included) shows up;
* ``wire``: every frame that reached that client since its previous step, in order:
  watch notifications (``event NodeDataChanged /a``) and replies (``reply SetData``),
  so the place of an event relative to the reply is part of the comparison.

Session ids become labels (``session:a``), since both servers derive them from the
clock. A step whose behaviour differs on purpose (a later 3.8.x fix that ours implements)
says so with ``ours=`` / ``reference=``: each side is checked against its own expected
value and the step is left out of the equality.

kazoo lacks requests newer than 3.5 (TTL and container creates, multiRead, addWatch,
getEphemerals, getAllChildrenNumber, whoAmI, checkWatches, removeWatches); the small
request classes below send them through kazoo's own connection (``KazooClient._call``).
"""

from __future__ import annotations

import struct
import time
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from kazoo.client import KazooClient
from kazoo.exceptions import EXCEPTIONS, KazooException
from kazoo.protocol.serialization import (
    MultiHeader,
    ReplyHeader,
    Watch,
    int_struct,
    read_buffer,
    read_string,
    stat_struct,
    write_buffer,
    write_string,
)
from kazoo.protocol.states import ZnodeStat
from kazoo.security import ACL, Id

from zk import lab
from zk.lab.proxy import Proxy

__all__ = [
    "AddWatch",
    "CheckWatches",
    "Client",
    "CreateContainer",
    "CreateRaw",
    "CreateTTL",
    "GetAllChildrenNumber",
    "GetEphemerals",
    "MultiRead",
    "Proxy",
    "RemoveWatches",
    "Scenario",
    "Script",
    "SetWatches",
    "WhoAmI",
    "run_scenario",
]

_long = struct.Struct("!q")

# Watcher.Event.EventType by number; 5..7 are the watch-removed events.
EVENT_TYPES = {
    -1: "None",
    1: "NodeCreated",
    2: "NodeDeleted",
    3: "NodeDataChanged",
    4: "NodeChildrenChanged",
    5: "DataWatchRemoved",
    6: "ChildWatchRemoved",
    7: "PersistentWatchRemoved",
}
NOTIFICATION_XID, PING_XID, AUTH_XID, SET_WATCHES_XID = -1, -2, -4, -8
CONTAINER_OWNER = 0x8000000000000000  # EphemeralType.CONTAINER_EPHEMERAL_OWNER
TTL_MASK = 0xFF00000000000000  # EphemeralType.TTL: the top byte, then the ttl


# --- requests kazoo does not have ------------------------------------------------------


def _write_acls(acls: Sequence[ACL]) -> bytes:
    out = int_struct.pack(len(acls))
    for a in acls:
        out += int_struct.pack(a.perms) + write_string(a.id.scheme) + write_string(a.id.id)
    return out


def _read_stat(buf: bytes, offset: int) -> ZnodeStat:
    return ZnodeStat._make(stat_struct.unpack_from(buf, offset))


def _read_strings(buf: bytes, offset: int) -> tuple[list[str], int]:
    count = int_struct.unpack_from(buf, offset)[0]
    offset += 4
    out = []
    for _ in range(max(count, 0)):
        s, offset = read_string(buf, offset)
        out.append(s)
    return out, offset


class CreateRaw(namedtuple("CreateRaw", "path data acl flags type")):
    """create (1) or create2 (15) with any flags, no client-side checks."""

    def serialize(self) -> bytes:
        return write_string(self.path) + write_buffer(self.data) + _write_acls(self.acl) + int_struct.pack(self.flags)

    def deserialize(self, buf: bytes, offset: int) -> Any:
        path, offset = read_string(buf, offset)
        return (path, _read_stat(buf, offset)) if self.type != 1 else path


class CreateContainer(CreateRaw):
    """createContainer (19): CreateRequest with flags CONTAINER (4); Create2Response."""

    def __new__(cls, path: str, data: bytes, acl: Sequence[ACL]) -> CreateContainer:
        return super().__new__(cls, path, data, acl, 4, 19)


class CreateTTL(namedtuple("CreateTTL", "path data acl flags ttl")):
    """createTTL (21): CreateTTLRequest; flags 5 (PERSISTENT_WITH_TTL) or 6 (sequential)."""

    type = 21

    def serialize(self) -> bytes:
        return (
            write_string(self.path)
            + write_buffer(self.data)
            + _write_acls(self.acl)
            + int_struct.pack(self.flags)
            + _long.pack(self.ttl)
        )

    @classmethod
    def deserialize(cls, buf: bytes, offset: int) -> Any:
        path, offset = read_string(buf, offset)
        return path, _read_stat(buf, offset)


class _PathInt(namedtuple("_PathInt", "path value")):
    def serialize(self) -> bytes:
        return write_string(self.path) + int_struct.pack(self.value)

    @classmethod
    def deserialize(cls, buf: bytes, offset: int) -> Any:
        return True


class CheckWatches(_PathInt):
    """checkWatches (17): path, WatcherType (1 children, 2 data, 3 any)."""

    type = 17


class RemoveWatches(_PathInt):
    """removeWatches (18): path, WatcherType."""

    type = 18


class AddWatch(_PathInt):
    """addWatch (106): path, AddWatchMode (0 persistent, 1 persistent recursive)."""

    type = 106


class GetEphemerals(namedtuple("GetEphemerals", "path")):
    """getEphemerals (103): the caller's ephemerals under a prefix."""

    type = 103

    def serialize(self) -> bytes:
        return write_string(self.path)

    @classmethod
    def deserialize(cls, buf: bytes, offset: int) -> Any:
        return _read_strings(buf, offset)[0]


class GetAllChildrenNumber(GetEphemerals):
    """getAllChildrenNumber (104): how many nodes are below a path."""

    type = 104

    @classmethod
    def deserialize(cls, buf: bytes, offset: int) -> Any:
        return int_struct.unpack_from(buf, offset)[0]


class SetWatches(namedtuple("SetWatches", "relative_zxid data exist child")):
    """setWatches (101): re-register watches after a reconnect (kazoo never sends it)."""

    type = 101

    def serialize(self) -> bytes:
        out = _long.pack(self.relative_zxid)
        for paths in (self.data, self.exist, self.child):
            out += int_struct.pack(len(paths)) + b"".join(write_string(p) for p in paths)
        return out

    @classmethod
    def deserialize(cls, buf: bytes, offset: int) -> Any:
        return True


class WhoAmI(namedtuple("WhoAmI", "")):
    """whoAmI (107): the connection's auth ids, as ClientInfo(authScheme, user)."""

    type = 107

    def __bool__(self) -> bool:  # an empty namedtuple is falsy, and kazoo tests `if request`
        return True

    def serialize(self) -> bytes:
        return b""

    @classmethod
    def deserialize(cls, buf: bytes, offset: int) -> Any:
        count = int_struct.unpack_from(buf, offset)[0]
        offset += 4
        out = []
        for _ in range(count):
            scheme, offset = read_string(buf, offset)
            user, offset = read_string(buf, offset)
            out.append(f"{scheme}:{user}")
        return sorted(out)  # Java keeps a connection's auth ids in a hash set


class MultiRead(namedtuple("MultiRead", "ops")):
    """multiRead (22): ops are ("get", path) or ("ls", path); results per op."""

    type = 22

    def serialize(self) -> bytes:
        b = bytearray()
        for kind, path in self.ops:
            b += MultiHeader(4 if kind == "get" else 8, False, -1).serialize()
            b += write_string(path) + b"\x00"  # watch = false
        return bytes(b + MultiHeader(-1, True, -1).serialize())

    @classmethod
    def deserialize(cls, buf: bytes, offset: int) -> Any:
        results: list[Any] = []
        header, offset = MultiHeader.deserialize(buf, offset)
        while not header.done:
            if header.type == 4:
                data, offset = read_buffer(buf, offset)
                results.append((data, _read_stat(buf, offset)))
                offset += stat_struct.size
            elif header.type == 8:
                children, offset = _read_strings(buf, offset)
                results.append(sorted(children))  # Java: HashSet order
            else:
                err = int_struct.unpack_from(buf, offset)[0]
                offset += 4
                results.append(EXCEPTIONS[err]())
            header, offset = MultiHeader.deserialize(buf, offset)
        return results


# --- clients and the script -----------------------------------------------------------


class Client:
    """A KazooClient whose every incoming frame (except pings) is logged in order."""

    def __init__(self, name: str, hosts: str, **kwargs: Any) -> None:
        self.name = name
        self.k = KazooClient(hosts=hosts, **kwargs)
        self.wire: list[str] = []
        self.states: list[str] = []
        self.k.add_listener(lambda state: self.states.append(str(state)))
        conn = self.k._connection
        read_header = conn._read_header

        def logged_read_header(timeout: float) -> Any:
            header, buf, offset = read_header(timeout)
            self._log(header, buf, offset)
            return header, buf, offset

        conn._read_header = logged_read_header

    def _log(self, header: ReplyHeader, buf: bytes, offset: int) -> None:
        if header.xid == NOTIFICATION_XID:
            w, _ = Watch.deserialize(buf, offset)
            self.wire.append(f"event {EVENT_TYPES.get(w.type, w.type)} {w.path}")
        elif header.xid == AUTH_XID:
            self.wire.append(f"reply auth err={header.err}" if header.err else "reply auth")
        elif header.xid == SET_WATCHES_XID:
            self.wire.append("reply setWatches")
        elif header.xid != PING_XID and self.k._pending:
            request = self.k._pending[0][0]
            name = type(request).__name__
            self.wire.append(f"reply {name} err={header.err}" if header.err else f"reply {name}")

    def call(self, request: Any, timeout: float = 10.0) -> Any:
        """Send a request object through kazoo's connection and wait for its answer."""
        result = self.k.handler.async_result()
        self.k._call(request, result)
        return result.get(timeout=timeout)

    def take_wire(self) -> list[str]:
        out, self.wire[:] = list(self.wire), []
        return out


class StepMismatch(AssertionError):
    pass


@dataclass
class Script:
    """What a scenario function drives: clients of one server, and the transcript."""

    kind: str
    connect_string: str
    server: lab.SyncServer
    lines: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    sessions: dict[int, str] = field(default_factory=dict)
    clients: dict[str, Client] = field(default_factory=dict)
    proxies: list[Proxy] = field(default_factory=list)

    # -- clients

    def client(
        self,
        name: str,
        *,
        timeout: float = 10.0,
        auth: Sequence[tuple[str, str]] = (),
        via_proxy: bool = False,
        client_id: tuple[int, bytes] | None = None,
        start: bool = True,
    ) -> Client:
        """Connect kazoo client `name` (its session is labelled ``session:<name>``)."""
        hosts = self.connect_string
        if via_proxy:
            proxy = Proxy(self.server.host, self.server.port)
            self.proxies.append(proxy)
            hosts = proxy.connect_string
        c = Client(
            name,
            hosts,
            timeout=timeout,
            auth_data=list(auth) or None,
            client_id=client_id,
            connection_retry={"max_tries": 200, "delay": 0.05, "backoff": 1, "max_delay": 0.1},
        )
        c.proxy = self.proxies[-1] if via_proxy else None  # type: ignore[attr-defined]
        self.clients[name] = c
        if start:
            c.k.start(timeout=10)
            # kazoo reports CONNECTED before the answers to the auth packets it sends
            # after the handshake: wait for them, or a slow server moves them to the
            # next step's wire
            deadline = time.monotonic() + 10
            while sum(w.startswith("reply auth") for w in c.wire) < len(auth) and time.monotonic() < deadline:
                time.sleep(0.01)
            self.sessions.setdefault(c.k.client_id[0], f"session:{name}")
            self.lines.append(f"{name}: connect -> zxid={_hex(c.k.last_zxid)} wire={c.take_wire()}")
        return c

    def close(self, name: str) -> None:
        """Close the client's session (a closeSession request) and record the reply."""
        c = self.clients.pop(name)
        c.k.stop()
        c.k.close()
        self.lines.append(f"{name}: close -> zxid={_hex(c.k.last_zxid)} wire={c.take_wire()}")

    # -- steps

    def step(
        self,
        name: str,
        label: str,
        fn: Callable[..., Any],
        *args: Any,
        ours: Any = ...,
        reference: Any = ...,
        **kwargs: Any,
    ) -> Any:
        """Run ``fn(*args, **kwargs)`` as client `name`'s step and record its outcome.

        With ``ours=``/``reference=``, the outcome is checked against the value for this
        server's kind instead of being compared between the two servers.
        """
        c = self.clients[name]
        try:
            value: Any = fn(*args, **kwargs)
            shown = self.normalise(value)
        except KazooException as e:
            value, shown = e, f"!{type(e).__name__}"
        outcome = f"{shown} zxid={_hex(c.k.last_zxid)} wire={c.take_wire()}"
        expected = ours if self.kind == "ours" else reference
        if expected is not ...:
            if shown != self.normalise(expected):
                self.checks.append(f"{name}: {label}: expected {self.normalise(expected)!r}, got {shown!r}")
            self.lines.append(f"{name}: {label} -> (differs on purpose; see the scenario)")
        else:
            self.lines.append(f"{name}: {label} -> {outcome}")
        return value

    def events(self, name: str, label: str = "events") -> None:
        """Record the frames that reached client `name`, after a barrier read (exists /)
        whose reply is sent after every event already queued for it."""
        c = self.clients[name]
        c.k.exists("/")
        wire = c.take_wire()
        assert wire and wire[-1] == "reply Exists", wire
        self.lines.append(f"{name}: {label} -> {wire[:-1]}")

    def wait_for(self, name: str, label: str, predicate: Callable[[list[str]], bool], timeout: float = 10.0) -> None:
        """Wait until client `name`'s unread frames satisfy `predicate` (server-driven
        events: expiry, container clean-up), then record them."""
        c = self.clients[name]
        deadline = time.monotonic() + timeout
        while not predicate(c.wire) and time.monotonic() < deadline:
            time.sleep(0.02)
        self.lines.append(f"{name}: {label} -> {c.take_wire()}")

    def note(self, text: str) -> None:
        """A line of the transcript that is the same on both servers (a comment)."""
        self.lines.append(f"# {text}")

    # -- normalisation

    def normalise(self, value: Any) -> Any:
        if isinstance(value, ZnodeStat):
            return self.stat(value)
        if isinstance(value, ACL):
            return f"{value.perms} {value.id.scheme}:{value.id.id}"
        if isinstance(value, KazooException):
            return f"!{type(value).__name__}"
        if isinstance(value, (list, tuple)):
            return [self.normalise(v) for v in value]
        if isinstance(value, bytes):
            return value.decode("utf-8", "replace")
        return value

    def stat(self, s: ZnodeStat) -> dict[str, Any]:
        """A Stat without ctime/mtime, zxids in hex, the owner as a label."""
        return {
            "czxid": _hex(s.czxid),
            "mzxid": _hex(s.mzxid),
            "pzxid": _hex(s.pzxid),
            "version": s.version,
            "cversion": s.cversion,
            "aversion": s.aversion,
            "owner": self.owner(s.ephemeralOwner),
            "dataLength": s.dataLength,
            "numChildren": s.numChildren,
        }

    def owner(self, owner: int) -> str | int:
        if owner == 0:
            return 0
        unsigned = owner & 0xFFFFFFFFFFFFFFFF
        if unsigned == CONTAINER_OWNER:
            return "container"
        if unsigned & TTL_MASK == TTL_MASK:
            return f"ttl:{unsigned & ~TTL_MASK}"
        return self.sessions.get(owner, "session:?")

    def shutdown(self) -> None:
        for c in self.clients.values():
            with _suppress_kazoo():
                c.k.stop()
                c.k.close()
        for p in self.proxies:
            p.close()


def _suppress_kazoo() -> suppress:
    return suppress(Exception)  # a test's teardown: the client may already be gone


def _hex(zxid: int | None) -> str:
    return f"{zxid:#x}" if zxid is not None else "None"


# --- scenarios and the runner ------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """One differential test: a script, and the server settings it needs.

    Attributes:
        fn: The script; it takes a Script.
        config: zoo.cfg keys for both servers.
        ours_config: zoo.cfg keys for ours only.
        jvm_flags: JVM flags for the reference only (its Java system properties).
    """

    fn: Callable[[Script], None]
    config: Mapping[str, str | int] = field(default_factory=dict)
    ours_config: Mapping[str, str | int] = field(default_factory=dict)
    jvm_flags: Sequence[str] = ()

    @property
    def name(self) -> str:
        return self.fn.__name__


BASE_CONFIG = {"4lw.commands.whitelist": "*", "forceSync": "no"}


def _run_one(kind: str, scenario: Scenario) -> Script:
    config = {**BASE_CONFIG, **scenario.config}
    if kind == "ours":
        config.update({"extendedTypesEnabled": "true", **scenario.ours_config})
        server = lab.start_server_sync("ours", trace=False, config=config)
    else:
        server = lab.start_server_sync("reference", config=config, jvm_flags=scenario.jvm_flags)
    script = Script(kind, server.connect_string, server)
    try:
        scenario.fn(script)
    except Exception as exc:
        raise AssertionError(f"{kind}: {exc!r}; server log:\n{server.process.log_tail()[-3000:]}") from exc
    finally:
        script.shutdown()
        server.stop()
    return script


def run_scenario(scenario: Scenario) -> tuple[Script, Script]:
    """Run `scenario` on a fresh server of ours and a fresh reference, side by side."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        ours = pool.submit(_run_one, "ours", scenario)
        ref = pool.submit(_run_one, "reference", scenario)
        return ours.result(), ref.result()


def owner_acl(perms: int, scheme: str, ident: str) -> ACL:
    return ACL(perms, Id(scheme, ident))
