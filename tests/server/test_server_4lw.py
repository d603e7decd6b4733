"""The four-letter words, ours against Apache ZooKeeper 3.8, one server of each per module.

Both servers get the same state: two kazoo sessions, a node with an ephemeral child, a
data watch, an exists watch and a child watch. Each test sends a word to both and
compares the *shape* of the replies: the same lines, keys and order, with the values
that differ by nature (versions, times, ports, session ids, data-dir paths, latencies,
packet counts) normalised. Values that must agree (node counts, zxids, watch counts) are
compared as they are. Where we differ on purpose, the test asserts our format and says
why (the reasons are listed in zk/server/four_letter.py's docstring).

The whitelist leaves out ``stmk`` (to compare the refusal) and ``srvr`` (which runs
anyway). A second server of ours, with every word allowed, covers ``stmk`` and the
telnet word; it is a Python process, so it costs no JVM start.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from kazoo.client import KazooClient

from zk import lab
from zk.lab import parse_mntr, parse_srvr
from zk.server import ServerConfig, ZooKeeperServer
from zk.server.four_letter import (
    COMMANDS,
    DEFAULT_TRACE_MASK,
    JAVA_EQUIVALENTS,
    MNTR_KEYS,
    TELNET_CLOSE,
    ZK_NOT_SERVING,
)
from zk.server.stats import ConnectionStats, ServerStats, java_double

WHITELIST = ",".join(sorted(COMMANDS - {"stmk", "srvr"}))

needs_reference = pytest.mark.skipif(not lab.reference_available(), reason=lab.reference_missing_reason() or "")


@dataclass
class Side:
    """One server with the module's clients and watches."""

    server: lab.SyncServer
    a: KazooClient
    b: KazooClient

    def word(self, word: str) -> str:
        return self.server.four_letter_word(word, timeout=5.0)

    def raw(self, payload: bytes) -> bytes:
        return _raw(self.server.host, self.server.port, payload)


def _raw(host: str, port: int, payload: bytes) -> bytes:
    """Send exact bytes on a fresh connection; everything read until the server closes."""
    with socket.create_connection((host, port), timeout=5) as sock:
        sock.sendall(payload)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _side(kind: lab.ServerKind, whitelist: str) -> Iterator[Side]:
    with lab.start_server_sync(kind, config={"4lw.commands.whitelist": whitelist}) as server:
        # kazoo's timeout 30 s: pings come every ~10 s, rarely in the middle of a test
        a = KazooClient(server.connect_string, timeout=30)
        b = KazooClient(server.connect_string, timeout=30)
        a.start(timeout=10)
        b.start(timeout=10)
        try:
            a.create("/app", b"x")
            a.create("/app/e", b"yy", ephemeral=True)
            a.get("/app", watch=lambda event: None)
            b.exists("/app/e", watch=lambda event: None)
            b.get_children("/app", watch=lambda event: None)
            yield Side(server, a, b)
        finally:
            for client in (a, b):
                client.stop()
                client.close()


@pytest.fixture(scope="module")
def ours() -> Iterator[Side]:
    yield from _side("ours", WHITELIST)


@pytest.fixture(scope="module")
def ref() -> Iterator[Side]:
    if not lab.reference_available():
        pytest.skip(lab.reference_missing_reason() or "")
    yield from _side("reference", WHITELIST)


@pytest.fixture(scope="module")
def ours_all() -> Iterator[lab.SyncServer]:
    with lab.start_server_sync("ours", config={"4lw.commands.whitelist": "*"}) as server:
        yield server


_DATE = r"\w{3} \w{3} \d\d \d\d:\d\d:\d\d \S+ \d{4}"


def _normalise(text: str) -> str:
    """Replace what differs by nature between two servers with placeholders."""
    text = re.sub(r"^(Zookeeper version: |zookeeper\.version=|zk_version\t).*$", r"\1V", text, flags=re.M)
    text = re.sub(r"^(dataDir|dataLogDir|user\.dir)=.*$", r"\1=PATH", text, flags=re.M)
    text = re.sub(_DATE, "DATE", text)
    text = re.sub(r"lop=\w+", "lop=OP", text)  # a kazoo ping may come between two words
    text = re.sub(r"0x[0-9a-f]+", "HEX", text)
    text = re.sub(r"\d+\.\d+\.\d+\.\d+:\d+", "IP:PORT", text)
    return re.sub(r"\d+(\.\d+)?(E-?\d+)?", "N", text)


def _lines(text: str) -> list[str]:
    return _normalise(text).split("\n")


# --- words that must match exactly -------------------------------------------------------


@needs_reference
@pytest.mark.parametrize("word", ["ruok", "isro", "hash", "gtmk", "wchs"])
def test_fixed_replies_are_identical(ours: Side, ref: Side, word: str) -> None:
    # hash: the digest log has a line per 128th zxid; below zxid 0x80 both are empty.
    # wchs counts data watches only (DataTree.dumpWatchesSummary): 2, not 3.
    assert ours.word(word) == ref.word(word)


def test_fixed_replies_of_ours(ours: Side) -> None:
    assert ours.word("ruok") == "imok"
    assert ours.word("isro") == "rw"
    assert ours.word("hash") == ""
    assert ours.word("gtmk") == str(DEFAULT_TRACE_MASK)
    assert ours.word("wchs") == "2 connections watching 2 paths\nTotal watches:2\n"


# --- srvr and stat ---------------------------------------------------------------------


@needs_reference
def test_srvr_has_the_same_lines_and_the_same_state(ours: Side, ref: Side) -> None:
    mine, theirs = ours.word("srvr"), ref.word("srvr")
    assert _lines(mine) == _lines(theirs)
    m, t = parse_srvr(mine), parse_srvr(theirs)
    for key in ("Connections", "Outstanding", "Zxid", "Mode", "Node count"):
        assert m[key] == t[key], key


@needs_reference
def test_stat_lists_the_clients_then_the_srvr_lines(ours: Side, ref: Side) -> None:
    mine, theirs = ours.word("stat"), ref.word("stat")
    # the clients come in hash-set order on both: compare them as a multiset
    assert sorted(_lines(mine)) == sorted(_lines(theirs))
    head = " /IP:PORT[N](queued=N,recved=N,sent=N)"
    for text in (mine, theirs):
        lines = _lines(text)
        assert lines[:2] == ["Zookeeper version: V", "Clients:"]
        assert lines[2:5] == [head] * 3 and lines[5] == ""  # two sessions and this word
        assert " /127.0.0.1:" in text and "[0](queued=0,recved=1,sent=0)" in text  # itself


def test_srvr_numbers_have_java_formats(ours: Side) -> None:
    srvr = ours.word("srvr")
    assert re.search(r"^Latency min/avg/max: \d+/\d+\.\d+(E-?\d+)?/\d+$", srvr, re.M), srvr
    assert re.search(r"^Zxid: 0x[0-9a-f]+$", srvr, re.M) and "Mode: standalone\n" in srvr


# --- cons, crst, srst -------------------------------------------------------------------


@needs_reference
def test_cons_has_the_same_fields(ours: Side, ref: Side) -> None:
    mine, theirs = ours.word("cons"), ref.word("cons")
    assert sorted(_lines(mine)) == sorted(_lines(theirs))
    full = (
        " /IP:PORT[N](queued=N,recved=N,sent=N,sid=HEX,lop=OP,est=N,to=N,lcxid=HEX,lzxid=HEX,"
        "lresp=N,llat=N,minlat=N,avglat=N,maxlat=N)"
    )
    assert _lines(mine).count(full) == 2 and mine.endswith(")\n\n")


@needs_reference
def test_crst_resets_every_connection(ours: Side, ref: Side) -> None:
    assert ours.word("crst") == ref.word("crst") == "Connection stats reset.\n"
    mine, theirs = ours.word("cons"), ref.word("cons")
    assert sorted(_lines(mine)) == sorted(_lines(theirs))
    # lastCxid -1 is not printed; a ping since the reset does not set it either
    assert "lcxid" not in mine and "lcxid" not in theirs


@needs_reference
def test_srst_resets_the_server_counters(ours: Side, ref: Side) -> None:
    assert ours.word("srst") == ref.word("srst") == "Server stats reset.\n"
    for side in (ours, ref):
        srvr = parse_srvr(side.word("srvr"))
        # this srvr is the one packet received since (a ping could add one or two)
        assert 1 <= int(srvr["Received"]) <= 3 and int(srvr["Sent"]) <= 2, srvr


# --- conf, dirs, envi ---------------------------------------------------------------------


@needs_reference
def test_conf_has_the_same_keys_in_the_same_order(ours: Side, ref: Side) -> None:
    mine, theirs = ours.word("conf"), ref.word("conf")
    assert _lines(mine) == _lines(theirs)
    m = dict(line.split("=", 1) for line in mine.splitlines())
    t = dict(line.split("=", 1) for line in theirs.splitlines())
    assert m["clientPort"] == str(ours.server.port)
    assert m["dataDir"] == str(ours.server.process.data_dir / "version-2")
    for key in ("secureClientPort", "tickTime", "maxClientCnxns", "minSessionTimeout", "maxSessionTimeout"):
        assert m[key] == t[key], key
    assert (m["clientPortListenBacklog"], m["serverId"]) == (t["clientPortListenBacklog"], t["serverId"])


@needs_reference
def test_dirs_has_the_same_lines(ours: Side, ref: Side) -> None:
    mine = ours.word("dirs")
    assert _lines(mine) == _lines(ref.word("dirs"))
    # the log is preallocated (64 MiB) and a snapshot is written at start-up (chapter 7)
    sizes = dict(line.split(": ") for line in mine.splitlines())
    assert int(sizes["datadir_size"]) > 0 and int(sizes["logdir_size"]) >= 64 * 1024 * 1024


@needs_reference
def test_envi_has_python_in_place_of_java(ours: Side, ref: Side) -> None:
    mine, theirs = ours.word("envi"), ref.word("envi")
    assert mine.startswith("Environment:\n") and theirs.startswith("Environment:\n")
    m = [line.split("=", 1) for line in mine.splitlines()[1:]]
    t = [line.split("=", 1) for line in theirs.splitlines()[1:]]
    # Deliberate difference: each java.* key becomes its Python equivalent in place, or
    # goes (java.library.path, java.compiler); every other key is ZooKeeper's, in order.
    expected = [JAVA_EQUIVALENTS.get(k, k) for k, _ in t if JAVA_EQUIVALENTS.get(k, k) is not None]
    assert [k for k, _ in m] == expected
    mv, tv = dict(m), dict(t)
    for key in ("host.name", "os.name", "os.arch", "os.version", "user.name", "user.home"):
        assert mv[key] == tv[key], key  # the same machine, the same answers
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", mv["python.version"])
    assert all(re.fullmatch(r"\d+MB", mv[f"os.memory.{k}"]) for k in ("free", "max", "total"))


# --- mntr -------------------------------------------------------------------------------


@needs_reference
def test_mntr_prints_a_subset_of_the_keys_in_their_order(ours: Side, ref: Side) -> None:
    mine, theirs = ours.word("mntr"), ref.word("mntr")
    m, t = parse_mntr(mine), parse_mntr(theirs)
    assert all(re.fullmatch(r"zk_\w+\t.*", line) for line in mine.splitlines())
    # Deliberate difference: metrics we do not measure are left out, not faked.
    assert list(m) == [f"zk_{k}" for k in MNTR_KEYS]
    assert list(m) == [k for k in t if k in m], "our keys in the reference's order"
    for key in (
        "zk_server_state",
        "zk_ephemerals_count",
        "zk_num_alive_connections",
        "zk_outstanding_requests",
        "zk_znode_count",
        "zk_global_sessions",
        "zk_watch_count",  # data and child watches: 3
        "zk_approximate_data_size",
        "zk_local_sessions",
    ):
        assert m[key] == t[key], key
    assert re.fullmatch(r"\d+\.\d+(E-?\d+)?", m["zk_avg_latency"])  # a Java double
    assert int(m["zk_open_file_descriptor_count"]) > 0 and int(m["zk_max_file_descriptor_count"]) > 0


# --- dump, wchc, wchp -----------------------------------------------------------------------


@needs_reference
def test_dump_has_the_same_sections(ours: Side, ref: Side) -> None:
    mine, theirs = ours.word("dump"), ref.word("dump")

    def shape(text: str) -> list[str]:
        # sessions touched at slightly different times may fall in one bucket or two
        return sorted(line for line in _lines(text) if not line.endswith("expire at DATE:"))

    assert shape(mine) == shape(theirs)
    for text in (mine, theirs):
        assert re.search(rf"^\d+ expire at {_DATE}:$", text, re.M)
        assert "\tip: /127.0.0.1:" in text and " sessionId: 0x0\n" in text  # this word's connection
    assert mine.startswith("SessionTracker dump:\nSession Sets (")
    assert "ephemeral nodes dump:\nSessions with Ephemerals (1):\n0x" in mine and ":\n\t/app/e\n" in mine


@needs_reference
@pytest.mark.parametrize("word", ["wchc", "wchp"])
def test_watch_dumps_list_data_watches(ours: Side, ref: Side, word: str) -> None:
    def groups(text: str) -> list[tuple[str, ...]]:
        # "key\n\tvalue\n..." blocks; session ids differ between the servers
        assert text.endswith("\n\n")
        out: list[list[str]] = []
        for line in _normalise(text).splitlines():
            if line and not line.startswith("\t"):
                out.append([line])
            elif line:
                out[-1].append(line)
        return sorted(tuple(g) for g in out)

    assert groups(ours.word(word)) == groups(ref.word(word))


def test_wchp_of_ours(ours: Side) -> None:
    session_a, session_b = (f"0x{c.client_id[0]:x}" for c in (ours.a, ours.b))
    # the child watch on /app is not listed: 3.8 dumps the data watches only
    assert ours.word("wchp") == f"/app\n\t{session_a}\n/app/e\n\t{session_b}\n\n"


# --- the whitelist and words that are not words ----------------------------------------------


@needs_reference
def test_a_word_off_the_whitelist_is_refused(ours: Side, ref: Side) -> None:
    refusal = "stmk is not executed because it is not in the whitelist.\n"
    assert ours.word("stmk") == ref.word("stmk") == refusal
    telnet = b"telnet close is not executed because it is not in the whitelist.\n"
    assert ours.raw(TELNET_CLOSE) == ref.raw(TELNET_CLOSE) == telnet


@needs_reference
def test_srvr_runs_even_off_the_whitelist(ours: Side, ref: Side) -> None:
    assert "srvr" not in WHITELIST.split(",")
    for side in (ours, ref):
        assert "Mode: standalone\n" in side.word("srvr")


@needs_reference
def test_an_unknown_word_is_a_bad_length(ours: Side, ref: Side) -> None:
    # "xyzw" = 0x78797a77 bytes, over jute.maxbuffer: closed without a reply
    assert ours.raw(b"xyzw") == ref.raw(b"xyzw") == b""
    assert "Mode: standalone" in ours.word("srvr")  # and the server is none the worse


def test_stmk_sets_the_trace_mask(ours_all: lab.SyncServer) -> None:
    host, port = ours_all.host, ours_all.port
    assert _raw(host, port, b"stmk" + (5).to_bytes(8, "big")) == b"5"
    assert ours_all.four_letter_word("gtmk") == "5"
    assert _raw(host, port, b"stmk") == b""  # the mask did not come: closed, as 3.8 does
    assert _raw(host, port, b"stmk" + DEFAULT_TRACE_MASK.to_bytes(8, "big")) == b"306"


def test_telnet_close_when_every_word_is_allowed(ours_all: lab.SyncServer) -> None:
    # "*" allows "telnet close", which has no command: the bytes are then read as a
    # negative length and the connection is closed (checked against 3.8 by hand).
    assert _raw(ours_all.host, ours_all.port, TELNET_CLOSE) == b""


# --- in process: a server that does not serve, and the number formats -------------------------


class _FakeCnxn:
    packets_received = 0
    packets_sent = 0


def test_words_of_a_server_that_does_not_serve() -> None:
    zks = ZooKeeperServer(ServerConfig(four_letter_word_whitelist=COMMANDS))
    words = zks.four_letter_words
    cnxn = _FakeCnxn()
    assert words.run("ruok", cnxn) == "imok"  # type: ignore[arg-type]
    assert words.run("isro", cnxn) == "null"  # type: ignore[arg-type]
    assert words.run("hash", cnxn) == ZK_NOT_SERVING  # DigestCommand uses print, not println
    for word in ("srvr", "stat", "cons", "conf", "dump", "mntr", "wchs", "dirs", "srst", "crst"):
        assert words.run(word, cnxn) == ZK_NOT_SERVING + "\n", word  # type: ignore[arg-type]
    assert words.run("envi", cnxn).startswith("Environment:\nzookeeper.version=")  # type: ignore[arg-type]
    assert cnxn.packets_received == cnxn.packets_sent == 14


def test_java_double_formats() -> None:
    assert [java_double(v) for v in (0.0, 2.0, 0.1429, 73.3333)] == ["0.0", "2.0", "0.1429", "73.3333"]
    assert [java_double(v) for v in (1e-4, 5e-4, 1e7, 12345678.9)] == ["1.0E-4", "5.0E-4", "1.0E7", "1.23456789E7"]


def test_latency_counters_follow_java() -> None:
    s = ServerStats()
    assert s.latency_line() == "Latency min/avg/max: 0/0.0/0"
    for ms in (1, 2, 2):
        s.update_latency(ms)
    assert s.latency_line() == "Latency min/avg/max: 1/1.6667/2"  # half-up to 4 places
    c = ConnectionStats()
    c.update_for_response(3, 0x10, 4, 100, 105)  # getData, 5 ms
    c.update_for_response(-2, 0x10, 11, 200, 201)  # a ping: not the client's last cxid
    assert (c.last_op, c.last_cxid, c.min_latency, c.avg_latency, c.max_latency) == ("PING", 3, 0, 3, 5)
    c.reset()
    assert (c.last_op, c.last_cxid, c.last_zxid, c.min_latency) == ("NA", -1, -1, 0)


def test_hash_lists_the_digest_at_every_128th_zxid() -> None:
    """DigestCommand: after zxid 0x80 the log has its first line, and the digest in it is
    the tree's at that zxid, which the same writes on ZooKeeper also reach (the digest
    itself is checked against ZooKeeper's logged digests in tests/storage)."""
    with lab.start_server_sync(config={"4lw.commands.whitelist": "*"}) as s:
        client = KazooClient(s.connect_string)
        client.start()
        for i in range(130):  # createSession is zxid 1; these are 2..131
            client.create(f"/h{i}")
        lines = s.four_letter_word("hash").splitlines()
        client.stop()
        client.close()
    assert len(lines) == 1 and lines[0].startswith("80: ")
    int(lines[0].split(": ")[1])
