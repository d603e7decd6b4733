"""Which server to try next, and the chroot: what a connect string says.

A connect string is ``host:port[,host:port...][/chroot]``::

    "10.0.0.1:2181,10.0.0.2:2181,10.0.0.3:2181/app"  -> three hosts, chroot "/app"

The hosts are shuffled once, so that many clients with the same string spread over the
ensemble, and then tried in that order, round and round. Once the client has cycled
through every host without holding a session, it waits ``spin_delay`` before the next
try; it never waits before its very first attempt.

The chroot makes a subtree look like the whole tree: every path the client sends gets the
chroot in front, every path the server sends back loses it.

Mirrors: org.apache.zookeeper.client.ConnectStringParser, StaticHostProvider (next,
onConnected; not the reconfig rebalancing) and ClientCnxn's prependChroot/stripChroot.
"""

from __future__ import annotations

import random

from zk.data.paths import validate_path

__all__ = ["DEFAULT_PORT", "ConnectStringParser", "StaticHostProvider", "prepend_chroot", "strip_chroot"]

DEFAULT_PORT = 2181
ZOOKEEPER_NODE_SUBTREE = "/zookeeper/"


class ConnectStringParser:
    """Splits a connect string into hosts and a chroot.

    Attributes:
        chroot_path: the chroot, or None (``/`` counts as none).
        server_addresses: ``(host, port)`` in the order written.

    Mirrors: org.apache.zookeeper.client.ConnectStringParser.
    """

    def __init__(self, connect_string: str) -> None:
        off = connect_string.find("/")
        self.chroot_path: str | None = None
        if off >= 0:
            chroot = connect_string[off:]
            if len(chroot) > 1:
                validate_path(chroot)
                self.chroot_path = chroot
            connect_string = connect_string[:off]
        self.server_addresses: list[tuple[str, int]] = []
        for item in connect_string.split(","):
            host = item.strip()
            if not host:
                continue
            port = DEFAULT_PORT
            if host.startswith("["):  # an IPv6 literal: [::1]:2181
                end = host.index("]")
                rest = host[end + 1 :]
                host, port = host[1:end], int(rest[1:]) if rest.startswith(":") and len(rest) > 1 else DEFAULT_PORT
            else:
                colon = host.rfind(":")
                if colon >= 0:
                    if colon < len(host) - 1:
                        port = int(host[colon + 1 :])
                    host = host[:colon]
            self.server_addresses.append((host, port))
        if not self.server_addresses:
            raise ValueError(f"A HostProvider may not be empty: {connect_string!r}")


class StaticHostProvider:
    """A shuffled list of servers, tried round-robin.

    Args:
        addresses: ``(host, port)`` pairs.
        rng: the source of randomness for the shuffle (seed it for a replayable run).

    Mirrors: org.apache.zookeeper.client.StaticHostProvider. Names are not resolved
    here: the shell's ``open_connection`` does that on every attempt.
    """

    def __init__(self, addresses: list[tuple[str, int]], rng: random.Random | None = None) -> None:
        if not addresses:
            raise ValueError("A HostProvider may not be empty!")
        self.server_addresses = list(addresses)
        (rng or random.Random()).shuffle(self.server_addresses)
        self.current_index = -1
        self.last_index = -1

    def size(self) -> int:
        return len(self.server_addresses)

    def next(self, spin_delay: int) -> tuple[tuple[str, int], int]:
        """The next server, and how many ms to wait before trying it: ``spin_delay`` when
        this attempt starts a new round after a whole round without a session, else 0."""
        self.current_index += 1
        if self.current_index == len(self.server_addresses):
            self.current_index = 0
        addr = self.server_addresses[self.current_index]
        need_to_sleep = self.current_index == self.last_index and spin_delay > 0
        if self.last_index == -1:
            self.last_index = 0  # never sleep before the very first attempt
        return addr, spin_delay if need_to_sleep else 0

    def on_connected(self) -> None:
        """A session was established on the current server: count rounds from here."""
        self.last_index = self.current_index


def prepend_chroot(chroot: str | None, client_path: str) -> str:
    """The server's name for a client path (``/`` is the chroot itself)."""
    if chroot is None:
        return client_path
    return chroot if client_path == "/" else chroot + client_path


def strip_chroot(chroot: str | None, server_path: str) -> str:
    """The client's name for a server path. Paths outside the chroot (``/zookeeper/...``
    config and quota nodes) come back unchanged, as in Java."""
    if chroot is None:
        return server_path
    if server_path == chroot:
        return "/"
    if server_path.startswith(chroot + "/"):
        return server_path[len(chroot) :]
    return server_path
