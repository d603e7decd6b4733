"""Every member logs the leader's txns exactly: header, txn and the tree digest.

A PROPOSAL carries the txn as the leader logs it (SerializeUtils.serializeRequest:
header, txn, digest), and a follower logs what it received. So, for every zxid that
two members both logged, their log entries are equal, digest included; and each
follower checked the digest against its own tree as it applied the commit (a mismatch
is logged as "Digest mismatch"). Checked with three of ours, and with a ZooKeeper 3.8
leader and two of our followers, whose logs must then equal 3.8's entry for entry.
"""

from __future__ import annotations

import asyncio

from quorum_helpers import client, close, make_leader, wait_converged

from zk import lab
from zk.lab import Ensemble, ServerProcess
from zk.protocol.constants import OpCode
from zk.storage.file_txn_log import TxnIterator
from zk.storage.util import TxnLogEntry

TICK = 200


def _writes(hosts: str) -> None:
    """Creates of every kind, sets, a delete and a multi: txns of several types."""
    c = client(hosts)
    try:
        c.create("/ident", b"root")
        c.create("/ident/eph", b"e", ephemeral=True)
        c.create("/ident/seq-", b"s", sequence=True)
        for i in range(5):
            c.set("/ident", f"v{i}".encode())
        c.create("/ident/gone", b"")
        c.delete("/ident/gone")
        t = c.transaction()
        t.create("/ident/m1", b"1")
        t.set_data("/ident", b"after-multi")
        t.commit()
    finally:
        close(c)


def _logged(server: ServerProcess) -> dict[int, TxnLogEntry]:
    return {e.header.zxid: e for e in TxnIterator(server.data_dir / "version-2", 0)}


async def _check_identical_logs(ens: Ensemble, leader: ServerProcess) -> None:
    followers = [s for s in ens if s is not leader]
    await asyncio.to_thread(_writes, followers[0].connect_string)
    await wait_converged(ens)
    logs = {s.myid: _logged(s) for s in ens}
    mine = logs[leader.myid]
    # An error txn (a create that found its node, say: kazoo retries one after a lost
    # connection) has no digest in 3.8: Prep sets one only once a request has passed its
    # checks. So does ours.
    assert len(mine) >= 12, "the leader logged too little"
    assert all(e.digest is not None for e in mine.values() if e.header.type != OpCode.error), "the leader logs digests"
    for f in followers:
        theirs = logs[f.myid]
        common = sorted(mine.keys() & theirs.keys())
        assert len(common) >= 12, f"s{f.myid} logged too little of the leader's: {len(common)}"
        for zxid in common:
            assert theirs[zxid] == mine[zxid], f"s{f.myid} logged 0x{zxid:x} differently"
        assert "Digest mismatch" not in f.log_tail(5000)


async def test_our_followers_log_exactly_what_our_leader_logged() -> None:
    async with lab.ensemble(3, kind="ours", tickTime=TICK) as ens:
        await _check_identical_logs(ens, await ens.wait_for_leader())


async def test_our_followers_log_exactly_what_a_zookeeper_leader_logged() -> None:
    async with lab.ensemble(3, kind=["ours", "ours", "reference"], tickTime=TICK) as ens:
        await make_leader(ens, ens[3])
        await _check_identical_logs(ens, ens[3])
