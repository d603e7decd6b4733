"""Helpers for the storage tests: a data directory filled through FileTxnSnapLog."""

from __future__ import annotations

from pathlib import Path

from zk.data import DataTree
from zk.jute.records import ACL, CreateSessionTxn, CreateTxn, Id, SetDataTxn, TxnHeader
from zk.protocol.constants import OpCode
from zk.storage import FileTxnSnapLog

OPEN = [ACL(31, Id("world", "anyone"))]
SESSION = 0x1000001


def create(
    zxid: int, path: str, data: bytes = b"", *, ephemeral: bool = False, parent_cversion: int = -1
) -> tuple[TxnHeader, CreateTxn]:
    """A create txn; -1 lets the tree compute the parent's cversion (as for an old
    CreateTxnV0), Prep writes the explicit value (see DataDir.create)."""
    hdr = TxnHeader(SESSION, zxid, zxid, 1000 + zxid, OpCode.create)
    return hdr, CreateTxn(path, data, OPEN, ephemeral, parent_cversion)


def set_data(zxid: int, path: str, data: bytes, version: int) -> tuple[TxnHeader, SetDataTxn]:
    return TxnHeader(SESSION, zxid, zxid, 1000 + zxid, OpCode.setData), SetDataTxn(path, data, version)


def session(zxid: int) -> tuple[TxnHeader, CreateSessionTxn]:
    return TxnHeader(SESSION, 0, zxid, 1000 + zxid, OpCode.createSession), CreateSessionTxn(30000)


class DataDir:
    """A data directory and a tree kept beside it, as the server keeps them."""

    def __init__(self, root: Path, **kwargs: object) -> None:
        self.root = root
        self.kwargs = kwargs
        self.fs = FileTxnSnapLog(root, **kwargs)  # type: ignore[arg-type]
        self.tree = DataTree()
        self.sessions: dict[int, int] = {}

    def log(self, *txns: tuple[TxnHeader, object]) -> None:
        """Append, commit (one batch), apply."""
        for hdr, txn in txns:
            self.fs.append(hdr, txn)  # type: ignore[arg-type]
        self.fs.commit()
        for hdr, txn in txns:
            FileTxnSnapLog.process_transaction(hdr, self.tree, self.sessions, txn)  # type: ignore[arg-type]

    def create(self, zxid: int, path: str, data: bytes = b"", *, ephemeral: bool = False) -> None:
        """Log and apply one create with the parent's next cversion, as Prep writes it."""
        parent = self.tree.get_node(path[: path.rfind("/")])
        assert parent is not None
        self.log(create(zxid, path, data, ephemeral=ephemeral, parent_cversion=parent.stat.cversion + 1))

    def reopen(self) -> FileTxnSnapLog:
        self.fs.close()
        return FileTxnSnapLog(self.root, **self.kwargs)  # type: ignore[arg-type]

    @property
    def log_dir(self) -> Path:
        return self.fs.log_dir


def tree_dump(tree: DataTree) -> dict[str, tuple[bytes | None, object]]:
    """Every node with its data and Stat, for comparing trees."""
    return {p: (n.data, n.stat) for p, n in tree.nodes.items()}
