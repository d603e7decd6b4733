"""The rules of recovery that need no files: which zxid may follow which.

Replaying the log after a snapshot must see every transaction once, in order, without
a hole. Within an epoch the counter goes up by one per transaction (every write, even
a failed one, is logged as a txn); a new epoch starts its counter at 1::

    zxid = epoch << 32 | counter        0x0000000200000001 = epoch 2, counter 1

So the zxid after ``prev`` is ``prev + 1``, or the first of a later epoch. Anything else
means transactions are missing: a log file deleted from the middle, or a log that
starts after the snapshot it should continue. ZooKeeper only warns when zxids go
*back*; a hole there is silent (the "missing middle txn-log file" report, 2025). We
refuse to start instead.

Mirrors: the zxid checks of FileTxnSnapLog.fastForwardFromEdits, made stricter.
"""

from __future__ import annotations

__all__ = ["counter_of", "epoch_of", "follows", "make_zxid"]


def epoch_of(zxid: int) -> int:
    return zxid >> 32


def counter_of(zxid: int) -> int:
    return zxid & 0xFFFFFFFF


def make_zxid(epoch: int, counter: int) -> int:
    return (epoch << 32) | counter


def follows(prev: int, zxid: int) -> bool:
    """May ``zxid`` come right after ``prev`` in a log? (Both > 0 unless ``prev`` is
    the empty database's 0.)"""
    if zxid == prev + 1:
        return True
    return epoch_of(zxid) > epoch_of(prev) and counter_of(zxid) <= 1
