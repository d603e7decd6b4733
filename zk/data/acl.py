"""ACLs: who may do what to a znode, and how a connection proves who it is.

An ACL entry is ``(perms, Id(scheme, id))``; a node's ACL is a list of them, and an
operation needs one entry that grants its permission bit and matches one of the ids the
connection has authenticated as::

    digest:alice:XVs1...=:cdrwa   alice, after "addauth digest alice:secret"
    ip:10.0.0.0/8:r               any client whose address is in 10.0.0.0/8
    world:anyone:r                everyone

Authentication providers (one per scheme) turn an ``addauth`` packet into ids, say
whether an id matches an ACL expression, and whether an id written in a setAcl is well
formed. ``ip`` and ``digest`` are the built-in ones. Three schemes are not providers but
special cases, as in ZooKeeper:

- ``world:anyone`` matches everyone (checkACL and fixupACL test for it by name);
- ``auth`` only appears in a create or setAcl, and fixupACL replaces it with the
  caller's authenticated ids (``auth::cdrwa`` = "whoever I am, all rights");
- ``super`` is the id the digest provider adds when the password matches the configured
  super digest; a connection holding it passes every ACL check.

Mirrors: org.apache.zookeeper.server.auth (AuthenticationProvider, ProviderRegistry,
DigestAuthenticationProvider, IPAuthenticationProvider), ZooKeeperServer.checkACL,
PrepRequestProcessor.fixupACL and ZooDefs.Ids. We differ in two small ways: the
registry is an object the server owns, not a static map read from system properties;
and ``ip`` accepts IPv6 addresses, which ZooKeeper does from 3.9.4 (ZOOKEEPER-4240) but
3.8 does not.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from typing import Protocol

from zk.jute.records import ACL, Id
from zk.protocol.constants import Perms
from zk.protocol.errors import InvalidACLException, NoAuthException

__all__ = [
    "ANYONE_ID_UNSAFE",
    "AUTH_IDS",
    "CREATOR_ALL_ACL",
    "OPEN_ACL_UNSAFE",
    "READ_ACL_UNSAFE",
    "SUPER_ID",
    "AuthenticationProvider",
    "DigestAuthenticationProvider",
    "IPAuthenticationProvider",
    "ProviderRegistry",
    "check_acl",
    "fix_up_acl",
    "generate_digest",
]

# ZooDefs.Ids
ANYONE_ID_UNSAFE = Id(scheme="world", id="anyone")
AUTH_IDS = Id(scheme="auth", id="")
OPEN_ACL_UNSAFE: list[ACL] = [ACL(perms=int(Perms.ALL), id=ANYONE_ID_UNSAFE)]
CREATOR_ALL_ACL: list[ACL] = [ACL(perms=int(Perms.ALL), id=AUTH_IDS)]
READ_ACL_UNSAFE: list[ACL] = [ACL(perms=int(Perms.READ), id=ANYONE_ID_UNSAFE)]
# What DigestAuthenticationProvider adds for the holder of the super digest.
SUPER_ID = Id(scheme="super", id="")


def _java_split(s: str, sep: str) -> list[str]:
    """``String.split`` with a literal separator: trailing empty strings are dropped."""
    if sep not in s:
        return [s]
    parts = s.split(sep)
    while parts and parts[-1] == "":
        parts.pop()
    return parts


_JAVA_INT = re.compile(r"[+-]?[0-9]+")


def _parse_int(s: str, base: int = 10) -> int | None:
    """``Integer.parseInt``, or None where Java throws NumberFormatException."""
    pattern = _JAVA_INT if base == 10 else re.compile(r"[+-]?[0-9a-fA-F]+")
    if not pattern.fullmatch(s):
        return None
    v = int(s, base)
    return v if -(2**31) <= v < 2**31 else None


class AuthenticationProvider(Protocol):
    """One authentication scheme.

    Mirrors: org.apache.zookeeper.server.auth.AuthenticationProvider.
    """

    @property
    def scheme(self) -> str:
        """The scheme name, as in ``addauth <scheme> <auth>`` and in ACL ids."""
        ...

    def handle_authentication(self, auth_data: bytes, client_ip: str) -> list[Id]:
        """The ids an ``addauth`` packet proves; raises AuthFailedException if none."""
        ...

    def matches(self, id: str, acl_expr: str) -> bool:
        """Does an authenticated ``id`` match the id part of an ACL entry?"""
        ...

    def is_authenticated(self) -> bool:
        """Do this scheme's ids name a user, so that an ``auth`` ACL may use them?"""
        ...

    def is_valid(self, id: str) -> bool:
        """Is ``id`` well formed for an ACL entry of this scheme?"""
        ...

    def get_user_name(self, id: str) -> str:
        """The user an authenticated ``id`` names, as whoAmI shows it (Java's default: the id)."""
        ...


def generate_digest(id_password: str) -> str:
    """``user:password`` -> ``user:base64(sha1("user:password"))``.

    This is the form a digest ACL names: ``setAcl /x digest:<generate_digest(...)>:cdrwa``
    Mirrors: DigestAuthenticationProvider.generateDigest (SHA1, the default algorithm).
    """
    user = id_password.split(":", 1)[0]
    digest = hashlib.sha1(id_password.encode("utf-8")).digest()
    return f"{user}:{base64.b64encode(digest).decode('ascii')}"


class DigestAuthenticationProvider:
    """The ``digest`` scheme: a user name and a password, stored as a SHA1 digest.

    Args:
        super_digest: ``zookeeper.DigestAuthenticationProvider.superDigest``, the
            ``super:<digest>`` whose password makes a connection super user.

    Mirrors: org.apache.zookeeper.server.auth.DigestAuthenticationProvider.
    """

    scheme = "digest"

    def __init__(self, super_digest: str | None = None) -> None:
        self.super_digest = super_digest

    def handle_authentication(self, auth_data: bytes, client_ip: str) -> list[Id]:
        # Any bytes are accepted: "user:password" is digested whole, whatever it holds.
        digest = generate_digest(auth_data.decode("utf-8", errors="replace"))
        ids = [SUPER_ID] if digest == self.super_digest else []
        return [*ids, Id(scheme=self.scheme, id=digest)]

    def matches(self, id: str, acl_expr: str) -> bool:
        return id == acl_expr

    def is_authenticated(self) -> bool:
        return True

    def is_valid(self, id: str) -> bool:
        return len(_java_split(id, ":")) == 2

    def get_user_name(self, id: str) -> str:
        # "user:base64digest" -> "user": whoAmI never shows the digest
        return id.split(":")[0]


def _v4_bytes(addr: str) -> bytes | None:
    parts = addr.split(".")
    if len(parts) != 4:
        return None
    values = [_parse_int(p) for p in parts]
    if any(v is None or not 0 <= v <= 255 for v in values):
        return None
    return bytes(v for v in values if v is not None)


def _v6_bytes(addr: str) -> bytes | None:
    # IPAuthenticationProvider.parseV6addr of 3.9.4: hex segments, at most one "::".
    halves = addr.split("::")
    if len(halves) == 1:
        head, tail = halves[0].split(":"), []
        if len(head) != 8:
            return None
    elif len(halves) == 2:
        head = halves[0].split(":") if halves[0] else []
        tail = halves[1].split(":") if halves[1] else []
        if len(head) + len(tail) >= 8:
            return None
    else:
        return None
    words: list[int] = []
    for segment in head + tail:
        value = _parse_int(segment, 16) if 0 < len(segment) <= 4 else None
        if value is None:
            return None
        words.append(value & 0xFFFF)
    words[len(head) : len(head)] = [0] * (8 - len(words))
    return b"".join(w.to_bytes(2, "big") for w in words)


def _addr_bytes(addr: str) -> bytes | None:
    if ":" in addr:
        return _v6_bytes(addr)
    if "." in addr:
        return _v4_bytes(addr)
    return None


def _mask(b: bytes, bits: int) -> bytes:
    whole, rest = divmod(bits, 8)
    out = bytearray(b)
    if whole < len(out):
        out[whole] &= (0xFF << (8 - rest)) & 0xFF
        out[whole + 1 :] = bytes(len(out) - whole - 1)
    return bytes(out)


def _addr_and_bits(expr: str) -> tuple[bytes, int] | None:
    """``a.b.c.d`` or ``a.b.c.d/bits`` (or IPv6) -> (address bytes, prefix bits)."""
    parts = expr.split("/", 1)
    addr = _addr_bytes(parts[0])
    if addr is None:
        return None
    bits: int | None = len(addr) * 8
    if len(parts) == 2:
        bits = _parse_int(parts[1])
        if bits is None or not 0 <= bits <= len(addr) * 8:
            return None
    assert bits is not None
    return addr, bits


class IPAuthenticationProvider:
    """The ``ip`` scheme: the client's address, matched exactly or by CIDR prefix.

    Every connection is authenticated as ``ip:<its address>`` when it connects; an
    ``addauth ip`` packet adds the same id again.

    Mirrors: org.apache.zookeeper.server.auth.IPAuthenticationProvider.
    """

    scheme = "ip"

    def handle_authentication(self, auth_data: bytes, client_ip: str) -> list[Id]:
        return [Id(scheme=self.scheme, id=client_ip)]

    def matches(self, id: str, acl_expr: str) -> bool:
        acl = _addr_and_bits(acl_expr)
        remote = _addr_bytes(id)
        if acl is None or remote is None or len(remote) != len(acl[0]):
            return False
        addr, bits = acl
        return _mask(remote, bits) == _mask(addr, bits)

    def is_authenticated(self) -> bool:
        return False

    def is_valid(self, id: str) -> bool:
        return _addr_and_bits(id) is not None

    def get_user_name(self, id: str) -> str:
        return id


class ProviderRegistry:
    """The authentication providers of one server, by scheme.

    Args:
        super_digest: handed to the digest provider (see DigestAuthenticationProvider).
        digest_enabled: ``zookeeper.DigestAuthenticationProvider.enabled``.

    Mirrors: org.apache.zookeeper.server.auth.ProviderRegistry; custom providers
    (``zookeeper.authProvider.*``) are added with ``add``.
    """

    def __init__(self, super_digest: str | None = None, digest_enabled: bool = True) -> None:
        self._providers: dict[str, AuthenticationProvider] = {}
        self.add(IPAuthenticationProvider())
        if digest_enabled:
            self.add(DigestAuthenticationProvider(super_digest))

    def add(self, provider: AuthenticationProvider) -> None:
        """Register (or replace) the provider of ``provider.scheme``."""
        self._providers[provider.scheme] = provider

    def get(self, scheme: str | None) -> AuthenticationProvider | None:
        """The provider of a scheme, or None (then ``addauth`` fails with AUTHFAILED)."""
        return None if scheme is None else self._providers.get(scheme)

    def schemes(self) -> list[str]:
        """The registered schemes, sorted."""
        return sorted(self._providers)

    def get_user(self, id: Id) -> str:
        """The user name of an authenticated id, "" for a scheme without a provider
        (``super``). Mirrors: AuthUtil.getUser as AuthUtil.getClientInfos uses it."""
        provider = self.get(id.scheme)
        user = provider.get_user_name(id.id or "") if provider is not None else None
        return user or ""


def _is_anyone(id: Id) -> bool:
    return id.scheme == "world" and id.id == "anyone"


def check_acl(acl: list[ACL] | None, perm: int, auth_ids: Iterable[Id], registry: ProviderRegistry) -> None:
    """Check that a connection may do ``perm`` on a node with this ACL.

    Args:
        acl: the node's ACL; None or empty allows everything.
        perm: the one Perms bit the operation needs.
        auth_ids: the ids the connection has authenticated as (``ip:<addr>`` at least).
        registry: the server's providers, to match ids of their schemes.

    Raises:
        NoAuthException: no entry grants ``perm`` to any of ``auth_ids``.

    Mirrors: ZooKeeperServer.checkACL.
    """
    if not acl:
        return
    # world:anyone first: nearly every node has it, and the answer does not depend on
    # the order (ZooKeeper looks for a super id first)
    for entry in acl:
        if entry.perms & perm and _is_anyone(entry.id):
            return
    ids = list(auth_ids)
    if any(i.scheme == SUPER_ID.scheme for i in ids):
        return
    for entry in acl:
        if not entry.perms & perm:
            continue
        provider = registry.get(entry.id.scheme)
        if provider is None or entry.id.id is None:
            continue
        for auth in ids:
            if auth.scheme == entry.id.scheme and auth.id is not None and provider.matches(auth.id, entry.id.id):
                return
    raise NoAuthException(None)


def _remove_duplicates(acl: list[ACL] | None) -> list[ACL]:
    unique: list[ACL] = []
    for entry in acl or []:
        if entry not in unique:
            unique.append(entry)
    return unique


def fix_up_acl(
    path: str | None, auth_ids: Iterable[Id], acl: list[ACL] | None, registry: ProviderRegistry
) -> list[ACL]:
    """Check the ACL of a create or setAcl and expand ``auth`` entries.

    Duplicates are dropped first (ZOOKEEPER-1877); each ``auth`` entry becomes one entry
    per authenticated id of the caller whose scheme names a user (digest, not ip).

    Raises:
        InvalidACLException: the list is empty; an entry has no scheme; an ``auth``
            entry but no user id to put in its place; an unknown scheme; an id that
            its provider finds malformed.

    Mirrors: PrepRequestProcessor.fixupACL.
    """
    unique = _remove_duplicates(acl)
    if not unique:
        raise InvalidACLException(path)
    ids = list(auth_ids)
    fixed: list[ACL] = []
    for entry in unique:
        scheme = entry.id.scheme
        if scheme is None:
            raise InvalidACLException(path)
        if _is_anyone(entry.id):
            fixed.append(entry)
        elif scheme == AUTH_IDS.scheme:
            expanded = [
                ACL(perms=entry.perms, id=cid)
                for cid in ids
                if (p := registry.get(cid.scheme)) is not None and p.is_authenticated()
            ]
            if not expanded:
                raise InvalidACLException(path)
            fixed.extend(expanded)
        else:
            provider = registry.get(scheme)
            # an `auth` entry's id is ignored (kazoo sends it as null); any other needs one
            if provider is None or entry.id.id is None or not provider.is_valid(entry.id.id):
                raise InvalidACLException(path)
            fixed.append(entry)
    return fixed
