"""zk.server: client connections and the ZooKeeperServer that wires the chapters together.

Chapter 9 of the book: ServerCnxn (one connection, as an asyncio protocol, with batched
writes and back-pressure), ServerCnxnFactory (maxClientCnxns), ZooKeeperServer (the
handshake, sessions, the processor chain, timers) and the four-letter words.

Mirrors: org.apache.zookeeper.server.ServerCnxn, NIOServerCnxn, NIOServerCnxnFactory,
ZooKeeperServer, and org.apache.zookeeper.server.command (FourLetterCommands).
"""

from zk.server.cnxn import ServerCnxn
from zk.server.config import ServerConfig
from zk.server.four_letter import FourLetterWords
from zk.server.zookeeper_server import ServerCnxnFactory, ZooKeeperServer

__all__ = ["FourLetterWords", "ServerCnxn", "ServerCnxnFactory", "ServerConfig", "ZooKeeperServer"]
