"""The first vertical slice: kazoo, an unmodified client, talks to our server.

Each test is one thing a ZooKeeper user does; the full differential suite against
Apache ZooKeeper lives in tests/interop.
"""

import threading
import uuid

import pytest
from kazoo.client import KazooClient
from kazoo.exceptions import BadVersionError, NodeExistsError, NoNodeError, NotEmptyError
from kazoo.protocol.states import EventType

from zk import lab


def _path() -> str:
    return f"/t-{uuid.uuid4().hex[:8]}"


def test_create_then_get_returns_data_and_stat(kazoo: KazooClient) -> None:
    p = _path()
    assert kazoo.create(p, b"hello") == p
    data, stat = kazoo.get(p)
    assert data == b"hello"
    assert stat.version == 0 and stat.dataLength == 5 and stat.czxid == stat.mzxid == stat.pzxid


def test_set_with_version_is_compare_and_set(kazoo: KazooClient) -> None:
    p = _path()
    kazoo.create(p, b"a")
    assert kazoo.set(p, b"b", version=0).version == 1
    with pytest.raises(BadVersionError):
        kazoo.set(p, b"c", version=0)


def test_errors_carry_zookeeper_codes(kazoo: KazooClient) -> None:
    p = _path()
    kazoo.create(p)
    kazoo.create(p + "/child")
    with pytest.raises(NodeExistsError):
        kazoo.create(p)
    with pytest.raises(NotEmptyError):
        kazoo.delete(p)
    with pytest.raises(NoNodeError):
        kazoo.get(p + "/missing")


def test_sequential_ephemeral_names_follow_parent_cversion(kazoo: KazooClient) -> None:
    p = _path()
    kazoo.create(p)
    a = kazoo.create(p + "/n-", ephemeral=True, sequence=True)
    b = kazoo.create(p + "/n-", ephemeral=True, sequence=True)
    assert (a, b) == (p + "/n-0000000000", p + "/n-0000000001")
    assert kazoo.exists(a).ephemeralOwner == kazoo.client_id[0]


def test_data_watch_fires_once(kazoo: KazooClient) -> None:
    p = _path()
    kazoo.create(p, b"1")
    fired: list[object] = []
    done = threading.Event()

    def watcher(event: object) -> None:
        fired.append(event)
        done.set()

    kazoo.get(p, watch=watcher)
    kazoo.set(p, b"2")
    assert done.wait(5)
    kazoo.set(p, b"3")
    kazoo.sync(p)
    assert len(fired) == 1 and fired[0].type == EventType.CHANGED  # type: ignore[attr-defined]


def test_multi_is_all_or_nothing(kazoo: KazooClient) -> None:
    p = _path()
    kazoo.create(p)
    t = kazoo.transaction()
    t.create(p + "/new")
    t.create(p)  # exists: the whole multi fails
    results = t.commit()
    assert [type(r).__name__ for r in results] == ["RolledBackError", "NodeExistsError"]
    assert kazoo.exists(p + "/new") is None


def test_ephemerals_go_with_their_session(server: lab.SyncServer, kazoo: KazooClient) -> None:
    p = _path()
    other = KazooClient(server.connect_string)
    other.start(timeout=10)
    other.create(p, ephemeral=True)
    assert kazoo.exists(p) is not None
    other.stop()
    other.close()
    assert kazoo.exists(p) is None


def test_four_letter_words_answer(server: lab.SyncServer) -> None:
    assert server.four_letter_word("ruok") == "imok"
    assert "Mode: standalone" in server.four_letter_word("srvr")
