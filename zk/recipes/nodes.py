"""Node helpers every recipe uses: protected sequential creates, sorting, parents, deletes.

**Protection.** ``create(EPHEMERAL_SEQUENTIAL)`` answered by ConnectionLoss is the classic
trap: the node may exist, and nobody knows its name, so it stays until the session ends
(and a lock it stands for is held by nobody). Curator's answer is the protected name::

    <parent>/_c_<uuid>-<name><10-digit sequence>
    /locks/job/_c_335ac808-a883-49cd-bd7b-149f12c814a9-lock-0000000000

The uuid is made once per create; after a ConnectionLoss the creator lists the parent
and adopts the child that starts with ``_c_<uuid>-`` before trying again.

**Sorting.** Children come back in no order. Lock recipes sort them by what follows the
lock name (``fix_for_sorting``), that is the sequence number, never by the whole name,
whose uuid is random.

Mirrors: org.apache.curator.framework.imps.CreateBuilderImpl (withProtection,
findProtectedNodeInForeground, creatingParentContainersIfNeeded) and
StandardLockInternalsDriver.fixForSorting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from zk.client import ZooKeeper
from zk.jute.records import Stat
from zk.protocol.constants import CreateMode
from zk.protocol.errors import (
    ConnectionLossException,
    NodeExistsException,
    NoNodeException,
    NotEmptyException,
    SessionExpiredException,
)
from zk.recipes.connection import DEFAULT_RETRIES, retrying, wait_connected

__all__ = [
    "PROTECTED_PREFIX",
    "ChildData",
    "create_protected",
    "delete_children",
    "ensure_path",
    "fix_for_sorting",
    "guaranteed_delete",
    "join",
    "node_name",
    "parent_of",
    "protected_name",
    "sort_children",
]

log = logging.getLogger(__name__)

PROTECTED_PREFIX = "_c_"
SEQUENCE_DIGITS = 10  # the server appends %010d


@dataclass(frozen=True, slots=True)
class ChildData:
    """One cached node: its path, its Stat and (if the cache keeps data) its data.

    Mirrors: org.apache.curator.framework.recipes.cache.ChildData.
    """

    path: str
    stat: Stat
    data: bytes | None


def join(parent: str, child: str) -> str:
    """``ZKPaths.makePath``."""
    return f"/{child}" if parent == "/" else f"{parent}/{child}"


def parent_of(path: str) -> str:
    """``ZKPaths.getPathAndNode(path).getPath()``."""
    parent = path.rsplit("/", 1)[0]
    return parent or "/"


def node_name(path: str) -> str:
    """The last segment of a path (``ZKPaths.getNodeFromPath``)."""
    return path.rsplit("/", 1)[-1]


def protected_name(protect_id: str, name: str) -> str:
    """``_c_<uuid>-<name>``: the name a protected create asks for."""
    return f"{PROTECTED_PREFIX}{protect_id}-{name}"


def fix_for_sorting(node: str, lock_name: str) -> str:
    """What a lock node sorts by: the text after the last ``lock_name``, or all of it.

    >>> fix_for_sorting("_c_2534bcfe-cdcc-42cd-bd01-0228d6299c4f-lock-0000000007", "lock-")
    '0000000007'
    """
    index = node.rfind(lock_name)
    return node[index + len(lock_name) :] if index >= 0 else node


def sort_children(children: Iterable[str], *lock_names: str) -> list[str]:
    """Children sorted by sequence, as LockInternals.getSortedChildren does.

    Several lock names (the read-write lock's ``__READ__`` and ``__WRIT__``) are stripped
    in turn, so nodes of both kinds sort on one sequence.
    """

    def key(node: str) -> str:
        for name in lock_names:
            node = fix_for_sorting(node, name)
        return node

    return sorted(children, key=key)


async def ensure_path(zk: ZooKeeper, path: str, *, container: bool = True) -> None:
    """Create ``path`` and its missing parents (``creatingParentContainersIfNeeded``).

    Curator makes the parents CONTAINER nodes, so the server removes them once empty.
    """
    if path == "/":
        return
    mode = CreateMode.CONTAINER if container else CreateMode.PERSISTENT
    parts = path.strip("/").split("/")
    current = ""
    for part in parts:
        current += "/" + part
        if await retrying(zk, zk.exists, current) is not None:
            continue
        with contextlib.suppress(NodeExistsException):
            await retrying(zk, zk.create, current, b"", mode=mode)


async def create_protected(
    zk: ZooKeeper,
    parent: str,
    name: str,
    data: bytes,
    mode: CreateMode = CreateMode.EPHEMERAL_SEQUENTIAL,
    *,
    retries: int = DEFAULT_RETRIES,
) -> str:
    """Create ``<parent>/_c_<uuid>-<name>[sequence]``, surviving ConnectionLoss; returns the path.

    The parents are made on NoNode. After a ConnectionLoss the parent's children are
    searched for our uuid: the create may have been applied before the reply was lost.
    """
    protect_id = str(uuid.uuid4())
    wanted = join(parent, protected_name(protect_id, name))
    prefix = protected_name(protect_id, "")
    attempt = 0
    while True:
        try:
            return await zk.create(wanted, data, mode=mode)
        except asyncio.CancelledError:
            # Cancelled with the create in flight: the server may still apply it, and the
            # caller will never learn the name. Find it by our uuid and delete it in the
            # background, as Curator's protected mode does, or it lingers until the
            # session ends.
            task = asyncio.get_running_loop().create_task(_delete_protected(zk, parent, prefix))
            _CLEANUPS.add(task)  # the loop keeps only a weak reference to a task
            task.add_done_callback(_CLEANUPS.discard)
            raise
        except NoNodeException:
            await ensure_path(zk, parent)
        except ConnectionLossException:
            attempt += 1
            if attempt > retries:
                raise
            await wait_connected(zk)
            found = await find_protected(zk, parent, prefix)
            if found is not None:
                log.info("adopted protected node %s after connection loss", found)
                return found


_CLEANUPS: set[asyncio.Task[None]] = set()


async def _delete_protected(zk: ZooKeeper, parent: str, prefix: str) -> None:
    try:
        found = await find_protected(zk, parent, prefix)
        if found is not None:
            await guaranteed_delete(zk, found)
    except Exception as e:  # the session may be gone: then so is the ephemeral node
        log.info("could not remove the protected node %s* of a cancelled create: %s", prefix, e)


async def find_protected(zk: ZooKeeper, parent: str, prefix: str) -> str | None:
    """The child of ``parent`` whose name starts with ``prefix`` (``_c_<uuid>-``), if any."""
    try:
        children = await retrying(zk, lambda: zk.get_children(parent))
    except NoNodeException:
        return None
    for child in children:
        if child.startswith(prefix):
            return join(parent, child)
    return None


async def guaranteed_delete(zk: ZooKeeper, path: str, version: int = -1) -> None:
    """Delete ``path``; on ConnectionLoss keep trying in the background until it is gone.

    NoNode and SessionExpired both mean the node is gone (an ephemeral goes with its
    session). Mirrors: Curator's ``delete().guaranteed()`` (FailedDeleteManager).
    """
    try:
        await zk.delete(path, version)
    except (NoNodeException, SessionExpiredException):
        return
    except ConnectionLossException:
        task = asyncio.get_running_loop().create_task(_delete_later(zk, path, version), name=f"delete {path}")
        _BACKGROUND.add(task)
        task.add_done_callback(_BACKGROUND.discard)


_BACKGROUND: set[asyncio.Task[None]] = set()


async def _delete_later(zk: ZooKeeper, path: str, version: int) -> None:
    while zk.state.is_alive():
        try:
            await wait_connected(zk)
            await zk.delete(path, version)
            return
        except (NoNodeException, SessionExpiredException):
            return
        except ConnectionLossException:
            await asyncio.sleep(0.1)


async def delete_children(zk: ZooKeeper, path: str, *, delete_self: bool = False) -> None:
    """Delete every node below ``path`` (``ZKPaths.deleteChildren``), and ``path`` too if asked."""
    try:
        children = await retrying(zk, lambda: zk.get_children(path))
    except NoNodeException:
        return
    for child in children:
        await delete_children(zk, join(path, child), delete_self=True)
    if delete_self:
        with contextlib.suppress(NoNodeException, NotEmptyException):
            await retrying(zk, lambda: zk.delete(path))
