"""An observer in a real ensemble: three voters of ours and ``server.4=...:observer``.

The observer syncs like a follower, serves reads locally and forwards writes to the
leader, but it gets each committed txn as one INFORM (never PROPOSAL and COMMIT) and
its ACKs never count: the leader commits on two of the three voters. Also: mntr's
quorum keys on the leader and on the observer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from quorum_helpers import client, close, wait_converged

from zk import lab
from zk.lab import Ensemble, parse_mntr

pytestmark = pytest.mark.asyncio(loop_scope="module")

TICK = 200


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def ens() -> AsyncIterator[Ensemble]:
    async with lab.ensemble(4, observers=1, kind="ours", tickTime=TICK) as e:
        yield e


async def _wait_mntr(server: lab.ServerProcess, key: str, want: str, timeout: float = 10) -> dict[str, str]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        mntr = parse_mntr(await server.four_letter_word("mntr"))
        if mntr.get(key) == want or loop.time() > deadline:
            return mntr
        await asyncio.sleep(0.1)


async def test_the_observer_serves_with_mode_observer(ens: Ensemble) -> None:
    assert await ens.modes() == {1: "follower", 2: "follower", 3: "leader", 4: "observer"}


async def test_mntr_has_the_quorum_keys(ens: Ensemble) -> None:
    leader = ens[3]
    mntr = await _wait_mntr(leader, "zk_learners", "3")
    assert mntr["zk_peer_state"] == "leading - broadcast"
    assert mntr["zk_learners"] == "3"
    assert mntr["zk_synced_followers"] == "2"  # the voters that get proposals
    assert mntr["zk_synced_non_voting_followers"] == "0"
    assert mntr["zk_synced_observers"] == "1"
    assert mntr["zk_pending_syncs"] == "0"
    assert mntr["zk_quorum_size"] == "3"
    assert int(mntr["zk_leader_uptime"]) >= 0
    keys = list(mntr)  # in 3.8's order
    assert keys.index("zk_server_state") < keys.index("zk_peer_state") < keys.index("zk_ephemerals_count")
    assert keys.index("zk_pending_syncs") < keys.index("zk_learners") < keys.index("zk_quorum_size")
    observer = parse_mntr(await ens[4].four_letter_word("mntr"))
    assert observer["zk_peer_state"] == "observing - broadcast"
    assert observer["zk_observer_master_id"] == "3"
    assert "zk_learners" not in observer
    follower = parse_mntr(await ens[1].four_letter_word("mntr"))
    assert follower["zk_peer_state"] == "following - broadcast"
    assert follower["zk_quorum_size"] == "3"


async def test_writes_through_the_observer_reach_everybody_by_inform(ens: Ensemble) -> None:
    def work() -> tuple[list[str], list[list[str]]]:
        obs = client(ens[4].connect_string)
        others = [client(s.connect_string) for s in ens.participants]
        try:
            made = [obs.create("/obs/n", b"x", sequence=True, makepath=True) for _ in range(5)]
            seen = []
            for c in others:
                c.sync("/obs")
                seen.append(sorted(c.get_children("/obs")))
            seen.append(sorted(obs.get_children("/obs")))  # read-your-writes, locally
            return made, seen
        finally:
            for c in (obs, *others):
                close(c)

    made, seen = await asyncio.to_thread(work)
    assert all(names == sorted(p.rsplit("/", 1)[1] for p in made) for names in seen)
    await wait_converged(ens)

    events = ens.traces()
    committed = [e["zxid"] for e in events if e["event"] == "broadcast.commit" and e["server"] == "s3"]
    informs = {
        e["zxid"] for e in events if e["event"] == "broadcast.sent" and e["to"] == "s4" and e["type"] == "INFORM"
    }
    to_s4 = {e["type"] for e in events if e["event"] == "broadcast.sent" and e["to"] == "s4"}
    assert committed and set(committed) <= informs  # every commit reached the observer as INFORM
    assert "PROPOSAL" not in to_s4 and "COMMIT" not in to_s4  # synced from an empty DIFF: nothing else
    assert all(set(e["acks"]) <= {1, 2, 3} for e in events if e["event"] == "broadcast.commit")
    assert all(4 not in e["followers"] for e in events if e["event"] == "broadcast.proposal")
    mntr = parse_mntr(await ens[3].four_letter_word("mntr"))
    assert int(mntr["zk_last_proposal_size"]) > 0
    assert 0 < int(mntr["zk_min_proposal_size"]) <= int(mntr["zk_max_proposal_size"])


async def test_the_voters_commit_without_the_observer_and_it_catches_up(ens: Ensemble) -> None:
    await ens[4].kill()

    def write() -> None:
        c = client(ens[1].connect_string)
        try:
            for i in range(5):
                c.create(f"/obs/away-{i}", b"y")
        finally:
            close(c)

    await asyncio.to_thread(write)
    await ens[4].restart()
    await wait_converged(ens)
    plans = [e for e in ens.traces() if e["event"] == "sync.plan" and e["to"] == "s4"]
    assert plans[-1]["kind"] == "DIFF" and plans[-1]["txns"] >= 5
    assert (await ens.modes())[4] == "observer"
