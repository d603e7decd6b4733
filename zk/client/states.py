"""The client's connection states, as one transition table.

A client is always in one of the states of ``ZooKeeper.States``. Everything that moves it
is an *input* of the connection core (:class:`~zk.client.cnxn.ClientCnxn`)::

    NOT_CONNECTED --start_connect--> CONNECTING --tcp_connected--> ASSOCIATING
    ASSOCIATING --session_established--> CONNECTED | CONNECTEDREADONLY
    ASSOCIATING --session_expired--> CLOSED          (the server answered timeOut 0)
    any alive state --connection_lost--> CONNECTING  (and the next host is tried)
    CONNECTED --auth_failed--> AUTH_FAILED
    any alive state --closed--> CLOSED

CLOSED and AUTH_FAILED are final: ``is_alive`` is False and nothing leaves them. An input
that the table does not list for a state is our bug, and raises
:class:`IllegalTransition` naming both.

Mirrors: org.apache.zookeeper.ZooKeeper.States and ClientCnxn.SendThread.changeZkState.
We differ in one way: Java declares ASSOCIATING but never enters it (it stays in
CONNECTING until the ConnectResponse arrives, with ``ClientCnxnSocket.initialized``
false). We use ASSOCIATING for exactly that phase, so the table shows the handshake.
"""

from __future__ import annotations

import enum

__all__ = ["TRANSITIONS", "IllegalTransition", "Input", "States", "transition"]


class States(enum.Enum):
    """The client's connection state. Mirrors ZooKeeper.States."""

    NOT_CONNECTED = "NOT_CONNECTED"
    CONNECTING = "CONNECTING"
    ASSOCIATING = "ASSOCIATING"
    CONNECTED = "CONNECTED"
    CONNECTEDREADONLY = "CONNECTEDREADONLY"
    CLOSED = "CLOSED"
    AUTH_FAILED = "AUTH_FAILED"

    def is_alive(self) -> bool:
        """Not yet closed or failed: the client will keep (re)connecting."""
        return self not in (States.CLOSED, States.AUTH_FAILED)

    def is_connected(self) -> bool:
        """Holding a session on a server (read-write or read-only)."""
        return self in (States.CONNECTED, States.CONNECTEDREADONLY)


class Input(enum.Enum):
    """What happens to a connection; the columns of the table."""

    start_connect = "start_connect"  # a TCP connect to the next host begins
    tcp_connected = "tcp_connected"  # the socket is up; the ConnectRequest is queued
    session_established = "session_established"  # a ConnectResponse with timeOut > 0
    session_established_ro = "session_established_ro"  # ... from a read-only server
    session_expired = "session_expired"  # a ConnectResponse with timeOut <= 0
    connection_lost = "connection_lost"  # socket error, EOF, protocol error, timeout
    auth_failed = "auth_failed"  # the reply to an auth packet says AUTHFAILED
    closed = "closed"  # close() finished (or gave up)


class IllegalTransition(RuntimeError):
    """An input arrived in a state that cannot take it: a bug in the client, ours."""

    def __init__(self, state: States, event: Input) -> None:
        super().__init__(f"client state {state.name} cannot take {event.name}")
        self.state = state
        self.event = event


_ALIVE = (States.NOT_CONNECTED, States.CONNECTING, States.ASSOCIATING, States.CONNECTED, States.CONNECTEDREADONLY)

TRANSITIONS: dict[tuple[States, Input], States] = {
    # connecting: Java's SendThread.startConnect, once per attempt
    (States.NOT_CONNECTED, Input.start_connect): States.CONNECTING,
    (States.CONNECTING, Input.start_connect): States.CONNECTING,
    (States.CONNECTING, Input.tcp_connected): States.ASSOCIATING,
    # the handshake: SendThread.onConnected
    (States.ASSOCIATING, Input.session_established): States.CONNECTED,
    (States.ASSOCIATING, Input.session_established_ro): States.CONNECTEDREADONLY,
    (States.ASSOCIATING, Input.session_expired): States.CLOSED,
    # readResponse on AUTHPACKET_XID with err AUTHFAILED
    (States.ASSOCIATING, Input.auth_failed): States.AUTH_FAILED,
    (States.CONNECTED, Input.auth_failed): States.AUTH_FAILED,
    (States.CONNECTEDREADONLY, Input.auth_failed): States.AUTH_FAILED,
    # cleanAndNotifyState: the loop goes round and connects again
    **{(s, Input.connection_lost): States.CONNECTING for s in _ALIVE if s is not States.NOT_CONNECTED},
    # close: ClientCnxn.disconnect
    **{(s, Input.closed): States.CLOSED for s in _ALIVE},
    (States.CLOSED, Input.closed): States.CLOSED,
    (States.AUTH_FAILED, Input.closed): States.AUTH_FAILED,
}


def transition(state: States, event: Input) -> States:
    """The state after ``event`` in ``state``; IllegalTransition if the table has no entry."""
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise IllegalTransition(state, event) from None
