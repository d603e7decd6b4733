"""A three-node Apache ZooKeeper 3.8 ensemble: one leader, replication, failover."""

from __future__ import annotations

import asyncio

import pytest
from kazoo.client import KazooClient

from zk import lab
from zk.lab import parse_mntr, reference_available, reference_missing_reason

pytestmark = pytest.mark.skipif(not reference_available(), reason=reference_missing_reason() or "")


async def test_three_node_reference_ensemble_has_one_leader() -> None:
    async with lab.ensemble(3, kind="reference", forceSync="no") as ens:
        assert len(ens) == 3 and ens[2].myid == 2
        assert ens.connect_string.count(",") == 2
        modes = await ens.modes()
        assert sorted(modes.values(), key=str) == ["follower", "follower", "leader"], modes
        leader = await ens.wait_for_leader()
        mntr = parse_mntr(await leader.four_letter_word("mntr"))
        assert mntr["zk_server_state"] == "leader" and mntr["zk_synced_followers"] == "2"

        # A write through one member is read back through another.
        follower = next(s for s in ens if s is not leader)

        def write_then_read() -> bytes:
            writer = KazooClient(hosts=leader.connect_string, timeout=10)
            reader = KazooClient(hosts=follower.connect_string, timeout=10)
            writer.start(timeout=10)
            reader.start(timeout=10)
            try:
                writer.create("/replicated", b"v1")
                reader.sync("/replicated")
                return bytes(reader.get("/replicated")[0])
            finally:
                for client in (writer, reader):
                    client.stop()
                    client.close()

        assert await asyncio.to_thread(write_then_read) == b"v1"
        assert ens.traces() == []  # Apache ZooKeeper writes no lab traces

        # Crash the leader: the two left are a quorum and elect a new one.
        await leader.kill()
        new_leader = await ens.wait_for_leader(timeout=60)
        assert new_leader is not leader
        assert (await ens.modes())[leader.myid or 0] is None
    assert lab.running_lab_processes() == []
    assert not ens.root.exists()
