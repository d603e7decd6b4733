"""zk.data: the znode tree, its Stat and versions, paths, and ACLs.

Chapter 4 of the book, and a pure core: no IO, no clock (times arrive in txn headers).

- :mod:`zk.data.node`: DataNode, and the client's Stat derived from its StatPersisted.
- :mod:`zk.data.tree`: DataTree; ``process_txn`` applies a logged
  transaction and returns a ProcessTxnResult with the Stat and the watches to trigger.
- :mod:`zk.data.ephemeral`: EphemeralType, the meanings packed into ``ephemeralOwner``
  (session, container, TTL).
- :mod:`zk.data.paths`: PathUtils' path rules and the sequential-name suffix.
- :mod:`zk.data.acl`: ACL checks (checkACL, fixupACL), the ids of ZooDefs.Ids, and
  the auth providers (ip, digest with its super digest) in a ProviderRegistry.
- :mod:`zk.data.acl_cache`: ReferenceCountedACLCache, ACL lists stored once by index.
- :mod:`zk.data.containers`: which container and TTL nodes are due for deletion.
- :mod:`zk.data.quotas`: the quota nodes' StatsTrack strings, the PathTrie of quota'd
  paths, and the limit check Prep makes with ``zookeeper.enforceQuota``.

Stat and ACL themselves are the jute records of :mod:`zk.jute.records`.

Mirrors: org.apache.zookeeper.server.DataTree, DataNode, EphemeralType,
ReferenceCountedACLCache, ContainerManager; org.apache.zookeeper.Quotas, StatsTrack;
org.apache.zookeeper.common.PathUtils and PathTrie;
org.apache.zookeeper.server.auth; org.apache.zookeeper.data.Stat and ACL.
"""

from zk.data.acl import (
    ANYONE_ID_UNSAFE,
    AUTH_IDS,
    CREATOR_ALL_ACL,
    OPEN_ACL_UNSAFE,
    READ_ACL_UNSAFE,
    SUPER_ID,
    AuthenticationProvider,
    DigestAuthenticationProvider,
    IPAuthenticationProvider,
    ProviderRegistry,
    check_acl,
    fix_up_acl,
    generate_digest,
)
from zk.data.acl_cache import OPEN_UNSAFE_ACL_ID, ReferenceCountedACLCache
from zk.data.containers import get_candidates
from zk.data.ephemeral import CONTAINER_EPHEMERAL_OWNER, TTL_MAX_VALUE, EphemeralType
from zk.data.node import DataNode, create_stat
from zk.data.paths import basename, parent_of, sequential_name, validate_path
from zk.data.quotas import PathTrie, QuotaExceeded, StatsTrack, check_limits, limit_path, stat_path
from zk.data.tree import (
    CONFIG_NODE,
    PROC_ZOOKEEPER,
    QUOTA_ZOOKEEPER,
    DataTree,
    ProcessTxnResult,
    WatchTrigger,
)

__all__ = [
    "ANYONE_ID_UNSAFE",
    "AUTH_IDS",
    "CONFIG_NODE",
    "CONTAINER_EPHEMERAL_OWNER",
    "CREATOR_ALL_ACL",
    "OPEN_ACL_UNSAFE",
    "OPEN_UNSAFE_ACL_ID",
    "PROC_ZOOKEEPER",
    "QUOTA_ZOOKEEPER",
    "READ_ACL_UNSAFE",
    "SUPER_ID",
    "TTL_MAX_VALUE",
    "AuthenticationProvider",
    "DataNode",
    "DataTree",
    "DigestAuthenticationProvider",
    "EphemeralType",
    "IPAuthenticationProvider",
    "PathTrie",
    "ProcessTxnResult",
    "ProviderRegistry",
    "QuotaExceeded",
    "ReferenceCountedACLCache",
    "StatsTrack",
    "WatchTrigger",
    "basename",
    "check_acl",
    "check_limits",
    "create_stat",
    "fix_up_acl",
    "generate_digest",
    "get_candidates",
    "limit_path",
    "parent_of",
    "sequential_name",
    "stat_path",
    "validate_path",
]
