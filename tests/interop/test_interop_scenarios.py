"""Differential scenarios: each runs on a fresh server of ours and a fresh Apache ZooKeeper
3.8, and the two transcripts must agree step by step (see interop_harness.py).

Read each scenario as documentation: it is the list of steps a client takes, and the test
checks that our server answers every one of them exactly as ZooKeeper does: return
values, error codes, Stats (but ctime/mtime), zxids, and the watch events each client
receives with their place relative to the replies.
"""

from __future__ import annotations

import time

import pytest
from interop_harness import (
    AddWatch,
    CheckWatches,
    CreateContainer,
    CreateRaw,
    CreateTTL,
    GetAllChildrenNumber,
    GetEphemerals,
    MultiRead,
    RemoveWatches,
    Scenario,
    Script,
    SetWatches,
    WhoAmI,
    run_scenario,
)
from kazoo.protocol.serialization import Create, Delete, Exists, GetData, SetData
from kazoo.security import ACL, Id, make_digest_acl_credential

from zk.lab import reference_missing_reason

pytestmark = pytest.mark.skipif(reference_missing_reason() is not None, reason=reference_missing_reason() or "")

OPEN = [ACL(31, Id("world", "anyone"))]
READ_ONLY = [ACL(1, Id("world", "anyone"))]
SCENARIOS: list[Scenario] = []


def scenario(**settings: object):  # type: ignore[no-untyped-def]
    def register(fn):  # type: ignore[no-untyped-def]
        SCENARIOS.append(Scenario(fn, **settings))  # type: ignore[arg-type]
        return fn

    return register


# --- creating nodes ----------------------------------------------------------------------


@scenario()
def every_create_mode(s: Script) -> None:
    a = s.client("a")
    k = a.k
    s.step("a", "create /p (persistent)", k.create, "/p", b"p", include_data=True)
    s.step("a", "create /p/e (ephemeral)", k.create, "/p/e", b"e", ephemeral=True, include_data=True)
    s.step("a", "create /p/s- (persistent sequential)", k.create, "/p/s-", sequence=True, include_data=True)
    s.step("a", "create /p/es- (ephemeral sequential)", k.create, "/p/es-", ephemeral=True, sequence=True)
    s.step("a", "createContainer /p/c", a.call, CreateContainer("/p/c", b"c", OPEN))
    s.step("a", "createTTL /p/t ttl=60000", a.call, CreateTTL("/p/t", b"t", OPEN, 5, 60000))
    s.step("a", "create /p/t/child under a TTL node", k.create, "/p/t/child")
    s.step("a", "createTTL /p/ts- sequential", a.call, CreateTTL("/p/ts-", b"", OPEN, 6, 60000))
    for path in ("/p", "/p/e", "/p/s-0000000002", "/p/c", "/p/t", "/p/ts-0000000007"):
        s.step("a", f"exists {path}", k.exists, path)
    s.step("a", "children of /p", lambda: sorted(k.get_children("/p")))
    s.step("a", "create2 with flags CONTAINER", a.call, CreateRaw("/p/c2", b"", OPEN, 4, 15))
    s.step("a", "create with flags TTL, no ttl", a.call, CreateRaw("/p/t2", b"", OPEN, 5, 1))
    s.step("a", "create with unknown flags 7", a.call, CreateRaw("/p/x", b"", OPEN, 7, 1))
    s.step("a", "createTTL ttl=0", a.call, CreateTTL("/p/t3", b"", OPEN, 5, 0))
    s.step("a", "createTTL ttl too large", a.call, CreateTTL("/p/t4", b"", OPEN, 5, 1 << 40))
    s.step("a", "createTTL with flags PERSISTENT", a.call, CreateTTL("/p/t5", b"", OPEN, 0, 1000))
    s.step("a", "createTTL with flags EPHEMERAL", a.call, CreateTTL("/p/t6", b"", OPEN, 1, 1000))
    s.step("a", "createContainer under an ephemeral", a.call, CreateContainer("/p/e/c", b"", OPEN))
    s.step("a", "create with an empty ACL", a.call, CreateRaw("/p/noacl", b"", [], 0, 1))
    s.step("a", "create /p/big with 1000 bytes", k.create, "/p/big", b"x" * 1000)


@scenario()
def sequence_suffixes_follow_cversion(s: Script) -> None:
    k = s.client("a").k
    s.step("a", "create /q", k.create, "/q")
    s.step("a", "create /q/n- seq", k.create, "/q/n-", sequence=True)
    s.step("a", "create /q/n- seq", k.create, "/q/n-", sequence=True)
    s.step("a", "delete /q/n-0000000001", k.delete, "/q/n-0000000001")
    s.step("a", "create /q/n- seq after a delete", k.create, "/q/n-", sequence=True)
    s.step("a", "create /q/plain", k.create, "/q/plain")
    s.step("a", "create /q/ seq (empty name)", k.create, "/q/", sequence=True)
    s.step("a", "create /q/n- seq again", k.create, "/q/n-", sequence=True)
    s.step("a", "create / seq at the root", k.create, "/", sequence=True)
    s.step("a", "failed create does not bump", k.create, "/q/plain")
    s.step("a", "create /q/n- seq after failure", k.create, "/q/n-", sequence=True)
    s.step("a", "stat /q", k.exists, "/q")
    s.step("a", "children", lambda: sorted(k.get_children("/q")))


@scenario()
def stat_bookkeeping_on_node_and_parent(s: Script) -> None:
    k = s.client("a").k
    s.step("a", "create /s", k.create, "/s", b"12345")
    s.step("a", "create /s/c", k.create, "/s/c", b"ab")
    s.step("a", "stat /s after a child", k.exists, "/s")
    s.step("a", "set /s/c", k.set, "/s/c", b"abcdef")
    s.step("a", "set /s/c again", k.set, "/s/c", b"")
    s.step("a", "stat /s: child data does not touch it", k.exists, "/s")
    s.step("a", "setACL /s/c", k.set_acls, "/s/c", [*READ_ONLY, ACL(31, Id("ip", "127.0.0.1"))])
    s.step("a", "getACL /s/c", k.get_acls, "/s/c")
    s.step("a", "stat /s/c after setACL", k.exists, "/s/c")
    s.step("a", "delete /s/c", k.delete, "/s/c")
    s.step("a", "stat /s after delete", k.exists, "/s")
    s.step("a", "get_children /s with stat", k.get_children, "/s", include_data=True)
    s.step("a", "get /s", k.get, "/s")
    s.step("a", "set /s with no change in data", k.set, "/s", b"12345")
    s.step("a", "stat / ", k.exists, "/")


@scenario()
def versions_are_compare_and_set(s: Script) -> None:
    k = s.client("a").k
    s.step("a", "create /v", k.create, "/v", b"0")
    s.step("a", "set version 0", k.set, "/v", b"1", version=0)
    s.step("a", "set version 0 again: BadVersion", k.set, "/v", b"2", version=0)
    s.step("a", "set version -1 (any)", k.set, "/v", b"3", version=-1)
    s.step("a", "set version 5: BadVersion", k.set, "/v", b"3", version=5)
    s.step("a", "delete version 0: BadVersion", k.delete, "/v", version=0)
    s.step("a", "setACL aversion 3: BadVersion", k.set_acls, "/v", OPEN, version=3)
    s.step("a", "setACL aversion 0", k.set_acls, "/v", OPEN, version=0)
    s.step("a", "setACL aversion 0 again: BadVersion", k.set_acls, "/v", OPEN, version=0)
    s.step("a", "delete version 2", k.delete, "/v", version=2)
    s.step("a", "get /v", k.get, "/v")


@scenario()
def errors_and_invalid_paths(s: Script) -> None:
    a = s.client("a")
    k = a.k
    s.step("a", "get /missing", k.get, "/missing")
    s.step("a", "set /missing", k.set, "/missing", b"")
    s.step("a", "delete /missing", k.delete, "/missing")
    s.step("a", "create /missing/child", k.create, "/missing/child")
    s.step("a", "create /e", k.create, "/e")
    s.step("a", "create /e again", k.create, "/e")
    s.step("a", "create /e/c", k.create, "/e/c")
    s.step("a", "delete /e (not empty)", k.delete, "/e")
    s.step("a", "create /eph ephemeral", k.create, "/eph", ephemeral=True)
    s.step("a", "create /eph/c", k.create, "/eph/c")
    s.step("a", "create /eph/c seq", k.create, "/eph/c", sequence=True)
    s.step("a", "get_children /missing", k.get_children, "/missing")
    s.step("a", "getACL /missing", k.get_acls, "/missing")
    s.step("a", "setACL /missing", k.set_acls, "/missing", OPEN)
    s.step("a", "delete /", a.call, Delete("/", -1))
    s.step("a", "delete /zookeeper", a.call, Delete("/zookeeper", -1))
    s.step("a", "delete /zookeeper/quota", a.call, Delete("/zookeeper/quota", -1))
    s.step("a", "create /zookeeper/x", k.create, "/zookeeper/x")
    s.step("a", "create /", a.call, Create("/", b"", OPEN, 0))
    for bad in ("", "a", "/a/", "/a//b", "/a/./b", "/a/../b", "/.", "/a\x00b"):
        s.step("a", f"create {bad!r}", a.call, Create(bad, b"", OPEN, 0))
    for bad in ("", "noslash", "/x/", "/x//y"):
        s.step("a", f"get {bad!r}", a.call, GetData(bad, None))
        s.step("a", f"exists {bad!r}", a.call, Exists(bad, None))
        s.step("a", f"set {bad!r}", a.call, SetData(bad, b"", -1))
        s.step("a", f"delete {bad!r}", a.call, Delete(bad, -1))
    s.step("a", "create /e/seq- with trailing slash seq", a.call, Create("/e/", b"", OPEN, 2))
    s.step("a", "get /e", k.get, "/e")


# --- multi ---------------------------------------------------------------------------------


@scenario()
def multi_commits_all_or_nothing(s: Script) -> None:
    k = s.client("a").k
    s.step("a", "create /m", k.create, "/m", b"0")

    def ok() -> object:
        t = k.transaction()
        t.create("/m/a", b"a")
        t.create("/m/s-", b"", sequence=True)
        t.set_data("/m", b"1")
        t.check("/m", 1)
        t.delete("/m/a")
        return t.commit()

    def fails_midway() -> object:
        t = k.transaction()
        t.create("/m/b", b"b")
        t.set_data("/m", b"2", version=7)
        t.create("/m/c")
        return t.commit()

    def fails_first() -> object:
        t = k.transaction()
        t.delete("/m/none")
        t.create("/m/d")
        return t.commit()

    def fails_on_check() -> object:
        t = k.transaction()
        t.create("/m/s-", b"", sequence=True)
        t.check("/m", 0)
        return t.commit()

    def empty() -> object:
        return k.transaction().commit()

    s.step("a", "multi: create, create seq, set, check, delete", ok)
    s.step("a", "stat /m", k.exists, "/m")
    s.step("a", "multi failing on its 2nd op (BadVersion)", fails_midway)
    s.step("a", "multi failing on its 1st op (NoNode)", fails_first)
    s.step("a", "multi failing on a check after a seq create", fails_on_check)
    s.step("a", "children of /m: nothing from the failures", lambda: sorted(k.get_children("/m")))
    s.step("a", "stat /m", k.exists, "/m")
    s.step("a", "empty multi", empty)
    s.step("a", "create seq after failed multis", k.create, "/m/s-", sequence=True)


@scenario()
def multi_read_answers_each_op(s: Script) -> None:
    a = s.client("a")
    k = a.k
    s.step("a", "create /r", k.create, "/r", b"r")
    s.step("a", "create /r/x", k.create, "/r/x", b"x")
    s.step("a", "create /r/secret (no READ)", k.create, "/r/secret", b"s", acl=[ACL(30, Id("world", "anyone"))])
    ops = [("get", "/r"), ("ls", "/r"), ("get", "/missing"), ("ls", "/missing"), ("get", "/r/secret"), ("get", "/r/x")]
    s.step("a", "multiRead", a.call, MultiRead(ops))
    s.step("a", "multiRead of nothing", a.call, MultiRead([]))


# --- ACLs and authentication --------------------------------------------------------------

SUPER_DIGEST = make_digest_acl_credential("super", "secret").split(":", 1)[1]


@scenario(config={"DigestAuthenticationProvider.superDigest": f"super:{SUPER_DIGEST}"})
def acls_auth_schemes_and_super(s: Script) -> None:
    a = s.client("a")
    b = s.client("b")
    k = a.k
    alice = make_digest_acl_credential("alice", "pw")
    s.step("a", "whoAmI (ip only)", a.call, WhoAmI())
    s.step("a", "addauth digest alice:pw", k.add_auth, "digest", "alice:pw")
    s.step("a", "whoAmI", a.call, WhoAmI())
    s.step("a", "create /d with auth ACL", k.create, "/d", b"d", acl=[ACL(31, Id("auth", ""))])
    s.step("a", "getACL /d: auth became digest", k.get_acls, "/d")
    s.step("b", "getACL /d without auth: NoAuth", b.k.get_acls, "/d")
    s.step("b", "get /d: NoAuth", b.k.get, "/d")
    s.step("b", "set /d: NoAuth", b.k.set, "/d", b"x")
    s.step("b", "create /d/c: NoAuth", b.k.create, "/d/c")
    s.step("a", "create /rd: digest alice READ|ADMIN... read-only for world",
           k.create, "/rd", b"", acl=[ACL(1, Id("world", "anyone")), ACL(31, Id("digest", alice))])  # fmt: skip
    s.step("b", "getACL /rd with READ only: digest masked?", b.k.get_acls, "/rd")
    s.step("a", "getACL /rd with ADMIN", k.get_acls, "/rd")
    s.step("b", "create with auth ACL but no auth: InvalidACL", b.k.create, "/x", acl=[ACL(31, Id("auth", ""))])
    s.step("b", "create with bad ip ACL: InvalidACL", b.k.create, "/x", acl=[ACL(31, Id("ip", "not-an-ip"))])
    s.step("b", "create with ip/bits ACL", b.k.create, "/ipnet", acl=[ACL(31, Id("ip", "127.0.0.0/8"))])
    s.step("b", "get /ipnet (ip matches)", b.k.get, "/ipnet")
    s.step("b", "create with other ip ACL", b.k.create, "/ip2", acl=[ACL(31, Id("ip", "10.1.2.3"))])
    s.step("b", "get /ip2: NoAuth", b.k.get, "/ip2")
    s.step("b", "create with bad digest id: InvalidACL", b.k.create, "/x", acl=[ACL(31, Id("digest", "nocolon"))])
    s.step("b", "create with unknown scheme: InvalidACL", b.k.create, "/x", acl=[ACL(31, Id("nope", "x"))])
    s.step("b", "create with world:somebody: InvalidACL", b.k.create, "/x", acl=[ACL(31, Id("world", "x"))])
    s.step("b", "create with perms 0", b.k.create, "/p0", acl=[ACL(0, Id("world", "anyone"))])
    s.step("b", "get /p0: NoAuth", b.k.get, "/p0")
    s.step(
        "b",
        "exists /p0 needs READ since ZOOKEEPER-2590 (3.8.4); 3.8.0 answers it",
        lambda: "a Stat" if b.k.exists("/p0") else None,
        ours="!NoAuthError",
        reference="a Stat",
    )
    s.step("b", "delete /p0 (parent allows DELETE)", b.k.delete, "/p0")
    s.step("b", "setACL /rd: NoAuth", b.k.set_acls, "/rd", OPEN)
    s.step("b", "addauth digest super:secret", b.k.add_auth, "digest", "super:secret")
    s.step("b", "whoAmI as super", b.call, WhoAmI())
    s.step("b", "super reads /d", b.k.get, "/d")
    s.step("b", "super getACL /rd unmasked", b.k.get_acls, "/rd")
    s.step("b", "super setACL /ip2", b.k.set_acls, "/ip2", OPEN)
    s.step("a", "setACL with auth scheme", k.set_acls, "/ip2", [ACL(31, Id("auth", "whatever"))])
    s.step("a", "getACL /ip2", k.get_acls, "/ip2")
    s.step("a", "addauth digest with no colon", k.add_auth, "digest", "nocolon")


# --- watches ---------------------------------------------------------------------------------


@scenario()
def one_shot_watches(s: Script) -> None:
    a = s.client("a")
    b = s.client("b")

    def nothing(_event: object) -> None:
        pass

    s.step("a", "exists /w with watch (missing)", a.k.exists, "/w", watch=nothing)
    s.step("b", "create /w", b.k.create, "/w", b"1")
    s.events("a", "a sees NodeCreated")
    s.step("a", "get /w with watch", a.k.get, "/w", watch=nothing)
    s.step("a", "get_children /w with watch", a.k.get_children, "/w", watch=nothing)
    s.step("a", "exists /w with watch", a.k.exists, "/w", watch=nothing)
    s.step("b", "set /w", b.k.set, "/w", b"2")
    s.step("b", "set /w again: watches are one-shot", b.k.set, "/w", b"3")
    s.events("a", "a sees one NodeDataChanged")
    s.step("b", "create /w/c", b.k.create, "/w/c")
    s.events("a", "a sees NodeChildrenChanged")
    s.step("a", "get /w/c with watch", a.k.get, "/w/c", watch=nothing)
    s.step("a", "get_children /w with watch", a.k.get_children, "/w", watch=nothing)
    s.step("a", "exists /w with watch", a.k.exists, "/w", watch=nothing)
    s.step("a", "a deletes /w/c itself: events before its reply", a.k.delete, "/w/c")
    s.step("a", "get /w and ls /w with watches", a.k.get, "/w", watch=nothing)
    s.step("a", "ls /w with watch", a.k.get_children, "/w", watch=nothing)
    s.step("a", "a sets /w itself", a.k.set, "/w", b"4")
    s.step("a", "get /w with watch, ls with watch", a.k.get, "/w", watch=nothing)
    s.step("a", "ls /w with watch", a.k.get_children, "/w", watch=nothing)
    s.step("b", "delete /w", b.k.delete, "/w")
    s.events("a", "a sees NodeDeleted once for data and child watches")
    s.step("a", "exists on missing with watch, then create+delete in a multi", a.k.exists, "/z", watch=nothing)

    def create_delete() -> object:
        t = b.k.transaction()
        t.create("/z")
        t.delete("/z")
        return t.commit()

    s.step("b", "multi create /z, delete /z", create_delete)
    s.events("a", "a sees NodeCreated only (the watch is spent)")
    s.step("a", "checkWatches /none data", a.call, CheckWatches("/none", 2))


@scenario()
def persistent_and_recursive_watches(s: Script) -> None:
    a = s.client("a")
    b = s.client("b")
    s.step("a", "addWatch /pw persistent (missing)", a.call, AddWatch("/pw", 0))
    s.step("a", "addWatch /rw recursive", a.call, AddWatch("/rw", 1))
    s.step("b", "create /pw", b.k.create, "/pw")
    s.step("b", "set /pw", b.k.set, "/pw", b"1")
    s.step("b", "set /pw again (persistent: fires again)", b.k.set, "/pw", b"2")
    s.step("b", "create /pw/c", b.k.create, "/pw/c")
    s.step("b", "set /pw/c (not watched)", b.k.set, "/pw/c", b"1")
    s.events("a", "events of /pw")
    s.step("b", "create /rw", b.k.create, "/rw")
    s.step("b", "create /rw/x", b.k.create, "/rw/x")
    s.step("b", "create /rw/x/y", b.k.create, "/rw/x/y")
    s.step("b", "set /rw/x/y", b.k.set, "/rw/x/y", b"1")
    s.step("b", "delete /rw/x/y", b.k.delete, "/rw/x/y")
    s.events("a", "recursive: no NodeChildrenChanged")
    s.step("a", "checkWatches /pw any", a.call, CheckWatches("/pw", 3))
    s.step("a", "checkWatches /pw data", a.call, CheckWatches("/pw", 2))
    s.step("a", "checkWatches /pw children", a.call, CheckWatches("/pw", 1))
    s.step("a", "checkWatches /rw/x any", a.call, CheckWatches("/rw/x", 3))
    s.step("a", "removeWatches /pw children", a.call, RemoveWatches("/pw", 1))
    s.step("a", "removeWatches /pw data", a.call, RemoveWatches("/pw", 2))
    s.step("a", "removeWatches /pw any", a.call, RemoveWatches("/pw", 3))
    s.step("a", "removeWatches /pw any again", a.call, RemoveWatches("/pw", 3))
    s.step("b", "set /pw after removal", b.k.set, "/pw", b"3")
    s.events("a", "nothing for /pw")

    def nothing(_event: object) -> None:
        pass

    s.step("a", "get /pw with a one-shot watch too", a.k.get, "/pw", watch=nothing)
    s.step("a", "ls /pw with a one-shot watch", a.k.get_children, "/pw", watch=nothing)
    s.step("a", "removeWatches /pw data", a.call, RemoveWatches("/pw", 2))
    s.step("a", "checkWatches /pw children", a.call, CheckWatches("/pw", 1))
    s.step("a", "removeWatches /pw any", a.call, RemoveWatches("/pw", 3))
    s.step("a", "removeWatches /rw any", a.call, RemoveWatches("/rw", 3))
    s.step("a", "addWatch mode 2: BadArguments?", a.call, AddWatch("/rw", 2))
    s.step("a", "checkWatches type 9", a.call, CheckWatches("/rw", 9))


@scenario()
def watch_needs_read_permission(s: Script) -> None:
    """A watch event goes only to connections that may READ the node (ZOOKEEPER-4799,
    3.8.4; Debian's 3.8.0 carries it as the fix of CVE-2024-23944, so both agree).
    exists needs READ since ZOOKEEPER-2590 (3.8.4), which ours implements and Debian's
    3.8.0 lacks: that step is checked against each side's own expected answer."""
    a = s.client("a")
    b = s.client("b", auth=[("digest", "bob:pw")])
    bob = make_digest_acl_credential("bob", "pw")

    def nothing(_event: object) -> None:
        pass

    s.step("b", "create /acl", b.k.create, "/acl", b"1")
    s.step("a", "get /acl with watch", a.k.get, "/acl", watch=nothing)
    s.step("a", "ls /acl with watch", a.k.get_children, "/acl", watch=nothing)
    s.step("b", "setACL /acl to bob only", b.k.set_acls, "/acl", [ACL(31, Id("digest", bob))])
    s.step("b", "set /acl", b.k.set, "/acl", b"2")
    s.step("b", "create /acl/c", b.k.create, "/acl/c")

    def events_of_a() -> list[str]:
        c = s.clients["a"]
        c.k.exists("/")
        return c.take_wire()[:-1]

    s.step("a", "events on a, which can no longer READ /acl: none", events_of_a)
    s.step(
        "a",
        "exists /acl without READ (ZOOKEEPER-2590)",
        lambda: "a Stat" if a.k.exists("/acl") else None,
        ours="!NoAuthError",
        reference="a Stat",
    )
    s.step("b", "delete /acl/c", b.k.delete, "/acl/c")
    s.step("a", "get /acl: NoAuth", a.k.get, "/acl")


# --- the newer read requests -------------------------------------------------------------------


@scenario()
def ephemerals_children_count_and_whoami(s: Script) -> None:
    a = s.client("a")
    b = s.client("b")
    s.step("a", "create /g", a.k.create, "/g")
    s.step("a", "create /g/e1 ephemeral", a.k.create, "/g/e1", ephemeral=True)
    s.step("a", "create /g/e2 ephemeral", a.k.create, "/g/e2", ephemeral=True)
    s.step("a", "create /h ephemeral", a.k.create, "/h", ephemeral=True)
    s.step("b", "create /g/b ephemeral", b.k.create, "/g/b", ephemeral=True)
    s.step("a", "create /g/p/q", a.k.create, "/g/p/q", makepath=True)
    for prefix in ("/", "/g", "/g/", "/g/e", "/h", "/nothing", ""):
        s.step("a", f"getEphemerals {prefix!r}", lambda p=prefix: sorted(a.call(GetEphemerals(p))))
    s.step("b", "getEphemerals / for b", b.call, GetEphemerals("/"))
    for path in ("/", "/g", "/g/p", "/g/p/q", "/zookeeper", "/missing"):
        s.step("a", f"getAllChildrenNumber {path}", a.call, GetAllChildrenNumber(path))
    s.step("a", "whoAmI", a.call, WhoAmI())
    s.step("a", "sync /g", a.k.sync, "/g")
    s.step("a", "sync /missing", a.k.sync, "/missing")
    s.step("a", "sync /", a.k.sync, "/")


@scenario()
def system_nodes(s: Script) -> None:
    k = s.client("a").k
    s.step("a", "stat /", k.exists, "/")
    s.step("a", "get /", k.get, "/")
    s.step("a", "ls /", k.get_children, "/")
    s.step("a", "ls /zookeeper", lambda: sorted(k.get_children("/zookeeper")))
    s.step("a", "get /zookeeper", k.get, "/zookeeper")
    s.step("a", "get /zookeeper/quota", k.get, "/zookeeper/quota")
    s.step("a", "getACL /zookeeper/config", k.get_acls, "/zookeeper/config")
    s.step("a", "get /zookeeper/config", k.get, "/zookeeper/config")
    s.step("a", "getACL /", k.get_acls, "/")
    s.step("a", "set /zookeeper/quota", k.set, "/zookeeper/quota", b"q")
    s.step("a", "create /zookeeper/quota/x", k.create, "/zookeeper/quota/x")
    s.step("a", "set /", k.set, "/", b"root")
    s.step("a", "stat / after", k.exists, "/")


# --- sessions ----------------------------------------------------------------------------------

SHORT_SESSIONS = {"tickTime": 100, "minSessionTimeout": 200}


@scenario(config=SHORT_SESSIONS)
def session_expiry_deletes_ephemerals(s: Script) -> None:
    w = s.client("w")
    e = s.client("e", timeout=1.0, via_proxy=True)

    def nothing(_event: object) -> None:
        pass

    s.step("e", "create /x", e.k.create, "/x")
    s.step("e", "create /x/eph ephemeral", e.k.create, "/x/eph", b"e", ephemeral=True)
    s.step("w", "exists /x/eph with watch", w.k.exists, "/x/eph", watch=nothing)
    s.step("w", "ls /x with watch", w.k.get_children, "/x", watch=nothing)
    e.proxy.drop()  # type: ignore[attr-defined]
    s.note("e's connection is cut; its session times out on the server")
    s.wait_for("w", "w sees the ephemeral go", lambda wire: len(wire) >= 2, timeout=10)
    s.step("w", "exists /x/eph", w.k.exists, "/x/eph")
    s.step("w", "stat /x", w.k.exists, "/x")
    e.proxy.restore()  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    while "LOST" not in e.states and time.monotonic() < deadline:
        time.sleep(0.02)
    s.step("e", "e reconnects: its session is gone", lambda: e.states[-1])
    s.step("w", "getAllChildrenNumber /", w.call, GetAllChildrenNumber("/"))


@scenario(config=SHORT_SESSIONS)
def reconnect_keeps_the_session(s: Script) -> None:
    w = s.client("w")
    a = s.client("a", timeout=4.0, via_proxy=True)

    def nothing(_event: object) -> None:
        pass

    s.step("a", "create /r ephemeral", a.k.create, "/r", b"1", ephemeral=True)
    s.step("a", "get /r with watch", a.k.get, "/r", watch=nothing)
    a.proxy.drop()  # type: ignore[attr-defined]
    s.step("w", "set /r while a is away", w.k.set, "/r", b"2")
    a.proxy.restore()  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    while a.states.count("CONNECTED") < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    s.step("a", "states of a", lambda: a.states)
    s.events("a", "kazoo sends no SetWatches on reconnect: the missed change is lost")
    s.step(
        "a",
        "setWatches from zxid 0x3: data /r, /nope; exist /r, /gone; child /",
        a.call,
        SetWatches(3, ["/r", "/nope"], ["/r", "/gone"], ["/"]),
    )
    s.step("a", "exists /r: still a's", a.k.exists, "/r")
    sid, pwd = a.k.client_id
    a.proxy.drop()  # type: ignore[attr-defined]
    s.note("a loses its server for good; a2 resumes a's session by id and password")
    s.client("a2", client_id=(sid, pwd))
    s.step("a2", "a2 took over a's session: sees a's ephemeral", s.clients["a2"].k.exists, "/r")
    s.step("a2", "getEphemerals of the session", s.clients["a2"].call, GetEphemerals("/"))
    bad = s.client("bad", client_id=(sid, b"\x00" * 16), start=False)

    def connect_with_wrong_password() -> str:
        try:
            bad.k.start(timeout=5)
        except Exception as exc:  # kazoo raises a timeout when the session is refused
            return type(exc).__name__
        return str(bad.k.state)

    s.step("a2", "wrong password: refused; kazoo then starts a new session", connect_with_wrong_password)
    s.step("a2", "bad's session is a new one", lambda: bad.k.client_id[0] != sid)
    a2 = s.clients["a2"]
    deadline = time.monotonic() + 10
    while not (a2.k.connected and a2.states and a2.states[-1] == "CONNECTED") and time.monotonic() < deadline:
        time.sleep(0.02)
    s.step("a2", "the refused attempt cost a2 its connection; it reconnected", lambda: a2.states)
    s.close("a2")
    s.step("w", "closing a2 deleted the ephemeral", w.k.exists, "/r")


# --- containers and TTL nodes ---------------------------------------------------------------


@scenario(
    ours_config={"znode.container.checkIntervalMs": 100},
    jvm_flags=["-Dznode.container.checkIntervalMs=100"],
)
def containers_and_ttl_nodes_are_reaped(s: Script) -> None:
    a = s.client("a")
    w = s.client("w")

    def nothing(_event: object) -> None:
        pass

    s.step("a", "createContainer /c", a.call, CreateContainer("/c", b"", OPEN))
    s.step("a", "create /c/child", a.k.create, "/c/child")
    s.step("a", "createTTL /t ttl=300", a.call, CreateTTL("/t", b"", OPEN, 5, 300))
    s.step("w", "exists /c with watch", w.k.exists, "/c", watch=nothing)
    s.step("w", "exists /t with watch", w.k.exists, "/t", watch=nothing)
    s.step("a", "delete /c/child: /c is now empty", a.k.delete, "/c/child")
    s.wait_for("w", "the manager deletes /c and, once expired, /t", lambda wire: len(wire) >= 2)
    s.step("a", "exists /c", a.k.exists, "/c")
    s.step("a", "exists /t", a.k.exists, "/t")
    s.step("a", "stat /", a.k.exists, "/")


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[sc.name for sc in SCENARIOS])
def test_scenario_matches_reference(scenario: Scenario) -> None:
    ours, ref = run_scenario(scenario)
    assert ours.checks == [], ours.checks
    assert ref.checks == [], ref.checks
    pairs = enumerate(zip(ours.lines, ref.lines, strict=False))
    diff = [f"step {i}:\n  ours: {o}\n  ref:  {r}" for i, (o, r) in pairs if o != r]
    assert len(ours.lines) == len(ref.lines) and not diff, "\n".join(diff)
