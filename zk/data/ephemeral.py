"""EphemeralType: what a node's ``ephemeralOwner`` field really says.

Every znode stores one signed 64-bit ``ephemeralOwner``. ZooKeeper packs four kinds of
node into it::

    0                        VOID       a plain persistent node
    a session id             NORMAL     an ephemeral node, deleted with its session
    0x8000000000000000       CONTAINER  deleted by the ContainerManager once empty
    0xFF | 0x0000 | ttl(40)  TTL        a persistent node deleted when unused for ttl ms
    ^8 bits ^16 bits ^40 bits
    extended  feature (0 = TTL)  value

The TTL encoding is an "extended type", only read as such when
``zookeeper.extendedTypesEnabled`` is true; that is also why, with extended types on, a
server id may be at most 254 (a session id starts with the server id's byte, and 0xFF
would read as a TTL node). Containers are recognised whatever the flag. Clients never
see these encodings: a Stat reports ``ephemeralOwner`` 0 for containers and TTL nodes.

Mirrors: org.apache.zookeeper.server.EphemeralType. We leave out the 3.5.3 emulation
(``zookeeper.emulate353TTLNodes``), which only reads logs of that one old release.
"""

from __future__ import annotations

import enum

__all__ = [
    "CONTAINER_EPHEMERAL_OWNER",
    "MAX_EXTENDED_SERVER_ID",
    "TTL_MAX_VALUE",
    "EphemeralType",
    "client_ephemeral_owner",
]


def _signed64(v: int) -> int:
    """A 64-bit pattern as Java's signed long."""
    return v - (1 << 64) if v & (1 << 63) else v


CONTAINER_EPHEMERAL_OWNER = _signed64(0x8000000000000000)  # Long.MIN_VALUE
MAX_EXTENDED_SERVER_ID = 0xFE  # 254

_EXTENDED_MASK = _signed64(0xFF00000000000000)
_EXTENDED_BIT_TTL = 0x0000
_RESERVED_BITS_MASK = 0x00FFFF0000000000
_RESERVED_BITS_SHIFT = 40
_EXTENDED_FEATURE_VALUE_MASK = ~(_EXTENDED_MASK | _RESERVED_BITS_MASK)  # the low 40 bits
TTL_MAX_VALUE = _EXTENDED_FEATURE_VALUE_MASK  # 1099511627775 ms: 12725 days, ~34 years


class EphemeralType(enum.Enum):
    """The kind of node an ``ephemeralOwner`` value stands for."""

    VOID = "void"
    NORMAL = "normal"
    CONTAINER = "container"
    TTL = "ttl"

    @staticmethod
    def get(ephemeral_owner: int, extended_types_enabled: bool = False) -> EphemeralType:
        """Decode an ``ephemeralOwner`` (EphemeralType.get).

        Args:
            ephemeral_owner: the signed 64-bit value from a StatPersisted.
            extended_types_enabled: ``zookeeper.extendedTypesEnabled``; off by default,
                as in ZooKeeper. Without it a TTL encoding reads as a session id.

        Raises:
            ValueError: an extended encoding with an unknown feature bit (damaged data).
        """
        if extended_types_enabled and (ephemeral_owner & _EXTENDED_MASK) == _EXTENDED_MASK:
            feature = (ephemeral_owner & _RESERVED_BITS_MASK) >> _RESERVED_BITS_SHIFT
            if feature != _EXTENDED_BIT_TTL:
                raise ValueError(f"Invalid ephemeralOwner. [{ephemeral_owner & (2**64 - 1):x}]")
            return EphemeralType.TTL
        if ephemeral_owner == CONTAINER_EPHEMERAL_OWNER:
            return EphemeralType.CONTAINER
        return EphemeralType.VOID if ephemeral_owner == 0 else EphemeralType.NORMAL

    def max_value(self) -> int:
        """The largest value this type can carry: TTL_MAX_VALUE for TTL, else 0."""
        return TTL_MAX_VALUE if self is EphemeralType.TTL else 0

    def to_ephemeral_owner(self, value: int) -> int:
        """Encode a value (a TTL in ms) as an ``ephemeralOwner``; 0 for other types.

        Raises:
            ValueError: a TTL outside 1..TTL_MAX_VALUE. Prep checks this first
                (EphemeralType.validateTTL) and answers BADARGUMENTS.
        """
        if self is not EphemeralType.TTL:
            return 0
        if value > TTL_MAX_VALUE or value <= 0:
            raise ValueError(f"ttl must be positive and cannot be larger than: {TTL_MAX_VALUE}")
        return _EXTENDED_MASK | _EXTENDED_BIT_TTL | value

    def get_value(self, ephemeral_owner: int) -> int:
        """The value packed in an ``ephemeralOwner``: the TTL in ms for TTL, else 0."""
        if self is not EphemeralType.TTL:
            return 0
        return ephemeral_owner & _EXTENDED_FEATURE_VALUE_MASK


def client_ephemeral_owner(ephemeral_owner: int, extended_types_enabled: bool = False) -> int:
    """What a client's Stat shows: the session id for an ephemeral node, else 0.

    Mirrors: DataNode.getClientEphemeralOwner.
    """
    kind = EphemeralType.get(ephemeral_owner, extended_types_enabled)
    return ephemeral_owner if kind is EphemeralType.NORMAL else 0
