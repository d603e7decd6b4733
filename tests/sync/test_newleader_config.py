"""NEWLEADER carries the leader's quorum config string, as in 3.8.

LearnerHandler.run sends ``QuorumPacket(NEWLEADER, newLeaderZxid,
getQuorumVerifierBytes(), null)`` to a learner of protocol 0x10000 or later, and
Learner.syncWithLeader reads data longer than one byte with configFromString; a config
that does not parse is printed and the sync goes on. With reconfigEnabled=false (3.8's
default) setLastSeenQuorumVerifier stores nothing and writes no zoo.cfg.dynamic.next,
so the config a static zoo.cfg gives, version 0, is what every NEWLEADER carries.

The unit tests run against a scripted leader (the harness of test_sync_learner); the
mixed ensembles check both directions against Apache ZooKeeper 3.8 itself.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from quorum_helpers import sync_by_empty_diff, z
from test_sync_learner import run_follower

from zk import lab
from zk.broadcast import PacketType
from zk.broadcast.learner_handler import LearnerHandler
from zk.broadcast.packets import PROTOCOL_VERSION
from zk.election.quorum import QuorumMaj
from zk.lab import reference_available, reference_missing_reason
from zk.startup.config import QuorumPeerConfig, QuorumServer
from zk.startup.quorum_peer import quorum_verifier

# what a 3.8 leader sent our follower in a mixed ensemble (ports of that run)
ZK38_NEWLEADER_DATA = (
    b"server.1=127.0.0.1:41447:59263:participant\n"
    b"server.2=127.0.0.1:44669:33765:participant\n"
    b"server.3=127.0.0.1:39527:49793:participant\n"
    b"version=0"
)

# --- the leader's side ------------------------------------------------------------------------


def _handler(version: int) -> LearnerHandler:
    members = {
        1: QuorumServer(1, "127.0.0.1", 41447, 59263),
        2: QuorumServer(2, "127.0.0.1", 44669, 33765),
        3: QuorumServer(3, "127.0.0.1", 39527, 49793),
    }
    peer = SimpleNamespace(sync_limit=5, init_limit=10, tick_time=200)
    leader = SimpleNamespace(peer=peer, verifier=QuorumMaj(members))
    writer = SimpleNamespace(get_extra_info=lambda name: None)
    handler = LearnerHandler(leader, None, writer)  # type: ignore[arg-type]
    handler.version = version
    return handler


def test_newleader_to_a_zab_1_learner_carries_38s_config_bytes() -> None:
    qp = _handler(PROTOCOL_VERSION)._new_leader_packet(z(2, 0))
    assert (qp.type, qp.zxid, qp.data, qp.authinfo) == (PacketType.NEWLEADER, z(2, 0), ZK38_NEWLEADER_DATA, None)


def test_newleader_to_a_pre_zab_1_learner_carries_nothing() -> None:
    qp = _handler(0x1)._new_leader_packet(z(2, 0))
    assert (qp.type, qp.zxid, qp.data) == (PacketType.NEWLEADER, z(2, 0), None)


# --- the learner's side -----------------------------------------------------------------------


def _newleader_script(data: bytes | None) -> Any:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await sync_by_empty_diff(reader, writer, 2, data)

    return script


async def test_the_learner_reads_38s_config_and_keeps_it(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="zk.sync.learner_sync")
    timeline, follower = await run_follower(tmp_path, _newleader_script(ZK38_NEWLEADER_DATA))
    assert ("send", "ACK", z(2, 0)) in timeline
    qv = follower.new_leader_qv
    assert qv is not None and qv.version == 0 and sorted(qv.voting_members) == [1, 2, 3]
    assert qv.to_string().encode() == ZK38_NEWLEADER_DATA
    assert "Dynamic reconfig is disabled, we don't store the last seen config." in caplog.messages
    assert not list(tmp_path.rglob("*dynamic*"))  # 3.8 writes no zoo.cfg.dynamic.next either


@pytest.mark.parametrize("data", [b"server.1=127.0.0.1:1:1\nfoo=bar", b"\xff\xfe not a config"])
async def test_a_config_that_does_not_parse_is_logged_and_the_sync_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, data: bytes
) -> None:
    timeline, follower = await run_follower(tmp_path, _newleader_script(data))
    assert ("send", "ACK", z(2, 0)) in timeline
    assert follower.new_leader_qv is None
    assert any("does not parse" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


@pytest.mark.parametrize("data", [None, b"", b"x"])
async def test_no_config_or_one_byte_is_not_read(tmp_path: Path, caplog: pytest.LogCaptureFixture, data: bytes) -> None:
    timeline, follower = await run_follower(tmp_path, _newleader_script(data))
    assert ("send", "ACK", z(2, 0)) in timeline
    assert follower.new_leader_qv is None
    assert not any("does not parse" in r.getMessage() for r in caplog.records)


# --- against Apache ZooKeeper 3.8 -------------------------------------------------------------

needs_reference = pytest.mark.skipif(not reference_available(), reason=reference_missing_reason() or "no reference")
LIMITS: dict[str, str | int] = {"initLimit": 10, "syncLimit": 5, "forceSync": "no"}


async def _lead(ens: lab.Ensemble, target: lab.ServerProcess) -> None:
    """The highest id leads equal histories, unless a loaded machine let two voters elect
    before it was up: then crash that leader until the target wins."""
    for _ in range(5):
        leader = await ens.wait_for_leader(timeout=30)
        if leader is target:
            return
        await leader.kill()
        await ens.wait_for_leader(timeout=30)
        await leader.start()
    raise AssertionError(f"s{target.myid} did not become leader")


async def _until(check: Any, timeout: float = 30) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.1)


@needs_reference
async def test_a_38_leader_sends_our_follower_the_string_we_would_send() -> None:
    async with lab.ensemble(3, kind=["ours", "ours", "reference"], tickTime=200, config=LIMITS) as ens:
        await _lead(ens, ens[3])

        def got() -> list[dict[str, Any]]:  # from s3: an earlier term may have had another leader
            events = [e for s in (ens[1], ens[2]) for e in s.trace_events()]
            return [e for e in events if e["event"] == "sync.newleader.config" and e["from"] == "s3"]

        await _until(lambda: bool(got()))
        # the bytes 3.8 sent, byte for byte what ours renders from the same zoo.cfg
        ours = quorum_verifier(QuorumPeerConfig.parse(ens[3].config_path)).to_string()
        for event in got():
            assert event["version"] == 0
            assert event["config"] == ours
            assert event["config"].endswith("\nversion=0")


@needs_reference
async def test_38_followers_read_our_leaders_config_without_an_exception() -> None:
    async with lab.ensemble(3, kind=["reference", "reference", "ours"], tickTime=200, config=LIMITS) as ens:
        await _lead(ens, ens[3])

        def logs() -> list[str]:
            return [s.log_path.read_text(errors="replace") for s in (ens[1], ens[2])]

        # 3.8 logs this right after configFromString returned: it read our config
        stored = "Dynamic reconfig is disabled, we don't store the last seen config."
        await _until(lambda: all(stored in text for text in logs()))
        for text in logs():
            assert text.count("Learner received NEWLEADER message") <= text.count(stored)
            assert "ConfigException" not in text and "NumberFormatException" not in text
        for s in ens:
            assert not list(s.config_path.parent.rglob("*dynamic*")), s.name
