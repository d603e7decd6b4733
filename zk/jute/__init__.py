"""zk.jute: ZooKeeper's binary record format and the records of zookeeper.jute.

Chapter 1 of the book. :mod:`zk.jute.codec` holds the primitives and the ``@record``
decorator; :mod:`zk.jute.records` holds every record ZooKeeper sends or stores.

Mirrors: org.apache.jute (BinaryInputArchive, BinaryOutputArchive, Record) and
zookeeper.jute.
"""

from zk.jute.codec import JuteError, Reader, Record, Writer

__all__ = ["JuteError", "Reader", "Record", "Writer"]
