"""ACL checks, fixupACL and the auth providers, against ZooKeeper's rules."""

from __future__ import annotations

import pytest

from zk.data.acl import (
    ANYONE_ID_UNSAFE,
    AUTH_IDS,
    OPEN_ACL_UNSAFE,
    SUPER_ID,
    DigestAuthenticationProvider,
    IPAuthenticationProvider,
    ProviderRegistry,
    check_acl,
    fix_up_acl,
    generate_digest,
)
from zk.jute.records import ACL, Id
from zk.protocol.constants import Perms
from zk.protocol.errors import InvalidACLException, NoAuthException

# Obtained once from Apache ZooKeeper 3.8.0 (Debian's package):
#   java -cp /usr/share/java/zookeeper.jar:/usr/share/java/slf4j-api.jar \
#     org.apache.zookeeper.server.auth.DigestAuthenticationProvider user:password super:secret
USER_PASSWORD_DIGEST = "user:tpUq/4Pn5A64fVZyQ0gOJ8ZWqkY="
SUPER_SECRET_DIGEST = "super:lK75jTNcA+U9vtVEw5vB51mj/w4="

REGISTRY = ProviderRegistry()
IP = IPAuthenticationProvider()


def digest_id(user_password: str) -> Id:
    return Id(scheme="digest", id=generate_digest(user_password))


def test_digest_matches_zookeeper() -> None:
    # DigestAuthenticationProvider.generateDigest
    assert generate_digest("user:password") == USER_PASSWORD_DIGEST
    assert generate_digest("super:secret") == SUPER_SECRET_DIGEST


def test_digest_authentication_and_super() -> None:
    # DigestAuthenticationProvider.handleAuthentication
    plain = DigestAuthenticationProvider(super_digest=SUPER_SECRET_DIGEST)
    assert plain.handle_authentication(b"user:password", "1.2.3.4") == [Id(scheme="digest", id=USER_PASSWORD_DIGEST)]
    assert plain.handle_authentication(b"super:secret", "1.2.3.4") == [
        SUPER_ID,
        Id(scheme="digest", id=SUPER_SECRET_DIGEST),
    ]


def test_digest_is_valid_uses_java_split() -> None:
    # DigestAuthenticationProvider.isValid: id.split(":").length == 2
    p = DigestAuthenticationProvider()
    assert p.is_valid(USER_PASSWORD_DIGEST)
    assert p.is_valid("a:b:")  # Java's split drops trailing empty strings
    assert p.is_valid(":b")
    assert not p.is_valid("a")
    assert not p.is_valid("a:")
    assert not p.is_valid("a:b:c")


@pytest.mark.parametrize(
    ("client", "expr", "expected"),
    [
        ("10.1.2.3", "10.1.2.3", True),
        ("10.1.2.3", "10.1.2.4", False),
        ("10.1.2.3", "10.0.0.0/8", True),
        ("11.1.2.3", "10.0.0.0/8", False),
        ("192.168.1.77", "192.168.1.64/26", True),
        ("192.168.1.128", "192.168.1.64/26", False),
        ("1.2.3.4", "0.0.0.0/0", True),
        ("10.1.2.3", "10.1.2.3/33", False),
        ("10.1.2.3", "10.1.2.3/-1", False),
        ("10.1.2.3", "10.1.2/8", False),
        ("10.1.2.3", "10.1.2.256/8", False),
        ("::1", "::1", True),
        ("0:0:0:0:0:0:0:1", "::1", True),
        ("2001:db8::1", "2001:db8::/32", True),
        ("2001:db9::1", "2001:db8::/32", False),
        ("::1", "127.0.0.1", False),
        ("127.0.0.1", "::1/0", False),  # different families never match
    ],
)
def test_ip_matches(client: str, expr: str, expected: bool) -> None:
    # IPAuthenticationProvider.matches (IPv6 as in 3.9.4, ZOOKEEPER-4240)
    assert IP.matches(client, expr) is expected


def test_ip_is_valid() -> None:
    # IPAuthenticationProvider.isValid
    for good in ["1.2.3.4", "1.2.3.4/0", "1.2.3.4/32", "::", "::1/128", "fe80::1:2"]:
        assert IP.is_valid(good), good
    for bad in ["1.2.3", "1.2.3.4/", "1.2.3.4/33", "host", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::"]:
        assert not IP.is_valid(bad), bad


def test_ip_authentication_is_the_address() -> None:
    assert IP.handle_authentication(b"", "10.0.0.5") == [Id(scheme="ip", id="10.0.0.5")]
    assert not IP.is_authenticated()


def test_check_acl_rules() -> None:
    # ZooKeeperServer.checkACL
    me = [Id(scheme="ip", id="127.0.0.1"), digest_id("user:password")]
    check_acl(None, Perms.WRITE, me, REGISTRY)  # no ACL: allowed
    check_acl([], Perms.WRITE, me, REGISTRY)
    check_acl(OPEN_ACL_UNSAFE, Perms.ADMIN, [], REGISTRY)  # world:anyone
    mine = [ACL(perms=Perms.READ | Perms.WRITE, id=digest_id("user:password"))]
    check_acl(mine, Perms.WRITE, me, REGISTRY)
    with pytest.raises(NoAuthException):
        check_acl(mine, Perms.DELETE, me, REGISTRY)  # the entry lacks the bit
    with pytest.raises(NoAuthException):
        check_acl(mine, Perms.READ, [digest_id("user:wrong")], REGISTRY)
    by_ip = [ACL(perms=Perms.READ, id=Id(scheme="ip", id="127.0.0.0/8"))]
    check_acl(by_ip, Perms.READ, me, REGISTRY)
    unknown = [ACL(perms=Perms.ALL, id=Id(scheme="x509", id="CN=me"))]
    with pytest.raises(NoAuthException):
        check_acl(unknown, Perms.READ, [Id(scheme="x509", id="CN=me")], REGISTRY)


def test_super_passes_everything() -> None:
    # ZooKeeperServer.checkACL: any id with scheme "super" returns at once
    registry = ProviderRegistry(super_digest=SUPER_SECRET_DIGEST)
    provider = registry.get("digest")
    assert provider is not None
    ids = provider.handle_authentication(b"super:secret", "127.0.0.1")
    nobody = [ACL(perms=Perms.READ, id=digest_id("other:pw"))]
    for perm in Perms:
        check_acl(nobody, perm, ids, registry)


def test_registry_has_ip_and_digest_only() -> None:
    # ProviderRegistry.initialize: world, auth and super are special cases, not providers
    assert REGISTRY.schemes() == ["digest", "ip"]
    assert ProviderRegistry(digest_enabled=False).schemes() == ["ip"]
    assert REGISTRY.get("world") is None


def test_fix_up_acl_expands_auth_and_removes_duplicates() -> None:
    # PrepRequestProcessor.fixupACL
    me = [Id(scheme="ip", id="127.0.0.1"), digest_id("user:password")]
    auth = ACL(perms=int(Perms.ALL), id=AUTH_IDS)
    world = ACL(perms=int(Perms.READ), id=ANYONE_ID_UNSAFE)
    fixed = fix_up_acl("/x", me, [auth, world, auth, world], REGISTRY)
    # ip is not an "authenticated" scheme, so only the digest id replaces auth.
    assert fixed == [ACL(perms=int(Perms.ALL), id=digest_id("user:password")), world]


def test_fix_up_acl_takes_a_null_auth_id_as_kazoo_sends_it() -> None:
    # kazoo writes make_acl("auth", "")'s empty id as a null string; fixupACL replaces
    # the entry without reading its id
    me = [digest_id("user:password")]
    fixed = fix_up_acl("/x", me, [ACL(perms=int(Perms.ALL), id=Id(scheme="auth", id=None))], REGISTRY)
    assert fixed == [ACL(perms=int(Perms.ALL), id=digest_id("user:password"))]


@pytest.mark.parametrize(
    "acl",
    [
        [],
        None,
        [ACL(perms=31, id=AUTH_IDS)],  # no user id to put in its place
        [ACL(perms=31, id=Id(scheme="nope", id="x"))],
        [ACL(perms=31, id=Id(scheme="digest", id="no-colon"))],
        [ACL(perms=31, id=Id(scheme="ip", id="1.2.3.4/40"))],
        [ACL(perms=31, id=Id(scheme="world", id="someone"))],
        [ACL(perms=31, id=Id(scheme="super", id=""))],
        [ACL(perms=31, id=Id(scheme=None, id="x"))],
    ],
)
def test_fix_up_acl_rejects(acl: list[ACL] | None) -> None:
    # PrepRequestProcessor.fixupACL
    with pytest.raises(InvalidACLException):
        fix_up_acl("/x", [Id(scheme="ip", id="127.0.0.1")], acl, REGISTRY)


def test_fix_up_acl_accepts_valid_ids() -> None:
    acl = [
        ACL(perms=31, id=Id(scheme="digest", id=USER_PASSWORD_DIGEST)),
        ACL(perms=1, id=Id(scheme="ip", id="10.0.0.0/8")),
        OPEN_ACL_UNSAFE[0],
    ]
    assert fix_up_acl("/x", [], acl, REGISTRY) == acl


def test_get_user_is_what_who_am_i_shows() -> None:
    # AuthUtil.getUser: a digest id without its hash, an ip as is, "" without a provider.
    registry = ProviderRegistry()
    assert registry.get_user(Id("digest", "alice:V55/p2T0OpjQ+low3NVAH4aLvm0=")) == "alice"
    assert registry.get_user(Id("ip", "127.0.0.1")) == "127.0.0.1"
    assert registry.get_user(Id("super", "")) == ""
