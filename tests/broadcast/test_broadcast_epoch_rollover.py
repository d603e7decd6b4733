"""A zxid counter about to overflow forces a new epoch (ZOOKEEPER-1277).

zxid = epoch << 32 | counter. Leader.propose refuses a txn whose counter is 0xffffffff:
it gives up the term, and the next leader starts epoch + 1 at counter 0.

* The decision, on a bare Leader: the txn with counter 0xffffffff is not proposed (no
  PROPOSAL, nothing outstanding), the leader stops proposing and asks for its term to end;
  counter 0xfffffffe is proposed as usual.
* A real ensemble of three of ours, the way ZooKeeper's own ZxidRolloverTest does it:
  the first leader's counter is moved near the end as it starts serving (``zk.setZxid``
  there; here a ``sitecustomize`` put on the servers' PYTHONPATH wraps
  Leader.start_zk_server, once for the whole ensemble). A client then writes through
  the rollover: no server's transaction log, tree or trace ever holds a txn with counter
  0xffffffff, the ensemble ends in a higher epoch, and it keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import pytest_asyncio
from kazoo.client import KazooClient
from kazoo.exceptions import ConnectionLoss, NodeExistsError, SessionExpiredError
from kazoo.retry import KazooRetry

from zk import lab
from zk.broadcast.leader import Leader
from zk.jute.records import TxnHeader
from zk.lab import Ensemble
from zk.processors.request import Request
from zk.protocol.constants import OpCode
from zk.storage.file_txn_log import TxnIterator

TICK = 200
START_COUNTER = 0xFFFFFFF8  # the first leader's next txns: ...f9, ..., fe, then ff is refused
LOW = 0xFFFFFFFF
RAN: dict[str, Any] = {}  # what the ensemble test saw, for the log check after it


# --- the decision ----------------------------------------------------------------------


class _Learner:
    def __init__(self) -> None:
        self.queued: list[Any] = []

    def queue_packet(self, qp: Any) -> None:
        self.queued.append(qp)


def _bare_leader() -> tuple[Leader, _Learner]:
    peer = SimpleNamespace(my_id=1, verifier=SimpleNamespace(contains_quorum=lambda s: len(s) >= 2))
    leader = Leader(peer, sync_follower=lambda *a: None)  # type: ignore[arg-type]
    follower = _Learner()
    leader.forwarding_followers.add(follower)  # type: ignore[arg-type]
    return leader, follower


def _txn(zxid: int) -> Request:
    return Request(
        session_id=1, cxid=1, type=OpCode.sync, body=None, cnxn=None,
        hdr=TxnHeader(clientId=1, cxid=1, zxid=zxid, time=0, type=OpCode.closeSession), zxid=zxid,
    )  # fmt: skip


async def test_counter_ffffffff_is_never_proposed_and_ends_the_term() -> None:
    leader, follower = _bare_leader()
    epoch = 7
    leader.propose(_txn(epoch << 32 | 0xFFFFFFFE))
    assert [qp.zxid for qp in follower.queued] == [epoch << 32 | 0xFFFFFFFE]
    assert leader.allowed_to_propose and leader.shutdown_reason is None

    leader.propose(_txn(epoch << 32 | LOW))
    assert [qp.zxid for qp in follower.queued] == [epoch << 32 | 0xFFFFFFFE]  # no PROPOSAL sent
    assert list(leader.outstanding_proposals) == [epoch << 32 | 0xFFFFFFFE]
    assert not leader.allowed_to_propose
    assert leader.shutdown_reason is not None and "rolled over" in leader.shutdown_reason
    assert leader._stop.is_set()  # the ping loop ends the term at its next tick

    leader.propose(_txn((epoch + 1) << 32 | 1))  # nothing more in this term
    assert len(follower.queued) == 1


# --- a real ensemble ---------------------------------------------------------------------

SITECUSTOMIZE = f"""
import os
MARK = os.environ.get("ZK_TEST_ROLLOVER_MARK")
if MARK:
    from zk.broadcast import leader as _leader
    _start = _leader.Leader.start_zk_server

    async def start_zk_server(self):
        try:
            fd = os.open(MARK, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return await _start(self)  # a later term: left alone
        os.write(fd, str(self.epoch).encode())
        os.close(fd)
        self.server.hzxid = (self.epoch << 32) | {START_COUNTER:#x}
        return await _start(self)

    _leader.Leader.start_zk_server = start_zk_server
"""


@pytest.fixture(scope="module")
def hook(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    d = tmp_path_factory.mktemp("rollover")
    (d / "sitecustomize.py").write_text(textwrap.dedent(SITECUSTOMIZE))
    mark = d / "first-epoch"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PYTHONPATH", str(d), prepend=":")
        mp.setenv("ZK_TEST_ROLLOVER_MARK", str(mark))
        yield mark


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def ens(hook: Path) -> AsyncIterator[Ensemble]:
    async with lab.ensemble(
        3, kind="ours", tickTime=TICK, syncLimit=5, initLimit=10, maxSessionTimeout=15000, forceSync="no"
    ) as e:
        yield e


def _logged_zxids(data_dir: Path) -> list[int]:
    return [entry.header.zxid for entry in TxnIterator(data_dir / "version-2", 0, repair_tail=True)]


def _write_through(hosts: str, n: int) -> tuple[list[int], int]:
    """Create /r/0 .. /r/n-1 (retrying through connection losses); (their czxids, session)."""
    retry = KazooRetry(max_tries=-1, delay=0.05, max_delay=0.5, deadline=40, ignore_expire=False)
    c = KazooClient(hosts=hosts, timeout=10, connection_retry={"max_tries": -1, "delay": 0.05, "max_delay": 0.5})
    c.start(timeout=20)
    try:
        retry(c.ensure_path, "/r")
        for i in range(n):

            def create(i: int = i) -> None:
                with contextlib.suppress(NodeExistsError):  # an earlier try committed, its reply was lost
                    c.create(f"/r/{i}", str(i).encode())

            retry(create)
        return [c.exists(f"/r/{i}").czxid for i in range(n)], c.client_id[0]
    except (ConnectionLoss, SessionExpiredError) as e:  # pragma: no cover - shown on failure
        raise AssertionError(f"the ensemble stopped serving: {e!r}") from e
    finally:
        c.stop()
        c.close()


def _tree_zxids(hosts: str) -> tuple[list[int], int]:
    """Every czxid/mzxid/pzxid below /r as this server sees it, and the number of children."""
    c = KazooClient(hosts=hosts, timeout=10)
    c.start(timeout=20)
    try:
        c.sync("/r")
        out = []
        children = c.get_children("/r")
        for p in ["/r"] + [f"/r/{k}" for k in children]:
            st = c.exists(p)
            out += [st.czxid, st.mzxid, st.pzxid]
        return out, len(children)
    finally:
        c.stop()
        c.close()


async def test_rollover_forces_a_new_epoch_and_the_ensemble_keeps_serving(ens: Ensemble, hook: Path) -> None:
    first = await ens.wait_for_leader()
    assert hook.exists(), "the hook did not move the first leader's counter"
    first_epoch = int(hook.read_text())

    n = 16  # with the session txns, well past the 7 zxids left in the first epoch
    czxids, _ = await asyncio.to_thread(_write_through, ens.connect_string, n)

    epochs = [z >> 32 for z in czxids]
    assert epochs[0] == first_epoch and czxids[0] & 0xFFFFFFFF > START_COUNTER  # the hook did its part
    assert epochs[-1] > first_epoch, [hex(z) for z in czxids]  # a new epoch came
    new_leader = await ens.wait_for_leader()
    await ens.wait_ready()

    # every server has all n nodes and logged txns of the new epoch; no PROPOSAL of 0xffffffff
    tree_zxids = {}
    for s in ens:
        zxids, children = await asyncio.to_thread(_tree_zxids, s.connect_string)
        assert children == n
        tree_zxids[s.name] = zxids
        logged = _logged_zxids(s.data_dir)
        assert logged and max(z >> 32 for z in logged) > first_epoch, (s.name, [hex(z) for z in logged])
    proposed = [e["zxid"] for e in ens.traces() if e.get("event") == "broadcast.proposal"]
    assert proposed and not [hex(z) for z in proposed if z & 0xFFFFFFFF == LOW]
    assert any("rolled over" in line for line in first.log_tail(400).splitlines()), first.log_tail(60)

    # and it keeps serving, in the new epoch, on every server
    more, _ = await asyncio.to_thread(_write_through, ens.connect_string, n + 3)
    assert all(z >> 32 > first_epoch for z in more[n:])
    for s in ens:
        zxids, children = await asyncio.to_thread(_tree_zxids, s.connect_string)
        assert children == n + 3
    assert new_leader in ens
    RAN.update(first=first, first_epoch=first_epoch, czxids=czxids, tree_zxids=tree_zxids)


async def test_no_txn_with_counter_ffffffff_anywhere(ens: Ensemble) -> None:
    assert RAN, "runs after the rollover test"
    bad_czxids = [hex(z) for z in RAN["czxids"] if z & 0xFFFFFFFF == LOW]
    bad_tree = {k: [hex(z) for z in v if z & 0xFFFFFFFF == LOW] for k, v in RAN["tree_zxids"].items()}
    assert not bad_czxids and not any(bad_tree.values()), (bad_czxids, bad_tree)
    for s in ens:
        logged = _logged_zxids(s.data_dir)
        bad = [hex(z) for z in logged if z & 0xFFFFFFFF == LOW]
        assert not bad, f"{s.name} (first leader: {s is RAN['first']}) logged a txn with counter 0xffffffff: {bad}"
