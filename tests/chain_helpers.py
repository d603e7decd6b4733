"""A client connection as the request processors see it, for tests that drive a chain
without sockets.

``from chain_helpers import RecordingCnxn`` (``tests/`` is on ``sys.path``, as for the
other ``*_helpers`` modules).
"""

from __future__ import annotations

import dataclasses

from zk.jute.codec import Record
from zk.jute.records import Id, ReplyHeader
from zk.protocol.messages import MultiResponse
from zk.watch.events import WatchedEvent

__all__ = ["RecordingCnxn"]


@dataclasses.dataclass(eq=False)
class RecordingCnxn:
    """Records what the chain sends it, in order, in `sent`: ``(header, body)`` for a
    reply, the event for a watch, ``("session", valid)`` and ``"close"``.
    Mirrors: the part of ServerCnxn the processors call (RequestOwner)."""

    session_id: int
    session_timeout: int = 30000
    auth_info: list[Id] = dataclasses.field(default_factory=lambda: [Id("ip", "127.0.0.1")])
    sent: list[object] = dataclasses.field(default_factory=list)

    @property
    def replies(self) -> list[ReplyHeader]:
        """The headers of the replies sent so far."""
        return [s[0] for s in list(self.sent) if isinstance(s, tuple) and isinstance(s[0], ReplyHeader)]

    def send_response(self, header: ReplyHeader, body: Record | MultiResponse | None) -> None:
        self.sent.append((header, body))

    def process(self, event: WatchedEvent) -> None:
        self.sent.append(event)

    def finish_session_init(self, valid: bool) -> None:
        self.sent.append(("session", valid))

    def send_close_session(self) -> None:
        self.sent.append("close")

    def __hash__(self) -> int:
        return id(self)
