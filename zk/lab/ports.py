"""Free loopback ports for lab servers.

The kernel picks a free port when a socket binds to port 0; we ask for several at once,
holding every socket open until all are chosen, so that one call never returns the same
port twice. The ports are free when returned, not reserved: another process may still take
one before the server binds it, the same small race kazoo's test harness accepts.

Mirrors: no Java class; kazoo's test harness and Maelstrom pick ports the same way.
"""

from __future__ import annotations

import socket
from contextlib import ExitStack

__all__ = ["LOOPBACK", "free_port", "free_ports", "port_is_free"]

LOOPBACK = "127.0.0.1"
"""The only address the lab listens on."""

# Ports handed out by this process, so that two calls made before either server binds
# its port do not collide (the kernel would happily return a just-closed port again).
_handed_out: set[int] = set()
_MAX_REMEMBERED = 4096


def free_ports(n: int, host: str = LOOPBACK) -> list[int]:
    """Return `n` distinct TCP ports that are free on `host` right now.

    Args:
        n: How many ports.
        host: The address the ports must be free on.

    Returns:
        The ports, in no particular order.
    """
    if n < 0:
        raise ValueError(f"free_ports: n must be >= 0, got {n}")
    if len(_handed_out) > _MAX_REMEMBERED:
        _handed_out.clear()
    ports: list[int] = []
    with ExitStack() as stack:
        # Bounded: at most a few retries per port for ones we already handed out.
        for _ in range(n * 8 + 8):
            if len(ports) == n:
                break
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((host, 0))
            port = int(sock.getsockname()[1])
            if port not in _handed_out and port not in ports:
                ports.append(port)
    if len(ports) != n:
        raise OSError(f"could not find {n} free ports on {host}")
    _handed_out.update(ports)
    return ports


def free_port(host: str = LOOPBACK) -> int:
    """Return one TCP port that is free on `host` right now."""
    return free_ports(1, host)[0]


def port_is_free(port: int, host: str = LOOPBACK) -> bool:
    """Tell whether a listening socket could bind `host:port` now.

    SO_REUSEADDR is set as servers set it, so connections in TIME_WAIT left over by an
    earlier server on the port do not count as "taken".
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True
