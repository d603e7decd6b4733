"""Our jute records have the fields of Apache ZooKeeper's, in the same order.

The classes jute generates from zookeeper.jute are compiled into Debian's
zookeeper-jute.jar; ``javap -p`` lists each class's private fields in declaration order,
which is the order they are serialized in. We compare names and types for every record.
"""

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from zk.jute import records
from zk.jute.codec import Record

JAR = Path("/usr/share/java/zookeeper-jute.jar")

# 3.9 moved the readOnly byte that 3.4+ clients append into the records themselves; 3.8
# still writes it by hand after the record (see zk.protocol.connect). Same bytes.
ADDED_AFTER_3_8 = {"ConnectRequest": ["readOnly"], "ConnectResponse": ["readOnly"]}

_JAVA_TYPES = {"int": "int", "long": "long", "boolean": "boolean", "byte[]": "buffer", "java.lang.String": "ustring"}


def _java_type_to_jute(java: str) -> str:
    if java in _JAVA_TYPES:
        return _JAVA_TYPES[java]
    m = re.fullmatch(r"java\.util\.List<(.+)>", java)
    if m:
        return f"vector<{_java_type_to_jute(m.group(1))}>"
    return java  # a record: its full class name, as our RecordType.name


def _record_classes() -> list[type[Record]]:
    return [
        obj for name in records.__all__ if isinstance(obj := getattr(records, name), type) and issubclass(obj, Record)
    ]


@pytest.fixture(scope="module")
def javap_fields() -> dict[str, list[tuple[str, str]]]:
    javap = shutil.which("javap")
    if javap is None or not JAR.exists():
        pytest.skip("needs javap and Debian's zookeeper-jute.jar (apt-get install zookeeper default-jdk-headless)")
    classes = [cls.JUTE_NAME for cls in _record_classes()]
    out = subprocess.run([javap, "-p", "-cp", str(JAR), *classes], capture_output=True, text=True, check=True).stdout
    fields: dict[str, list[tuple[str, str]]] = {}
    current = ""
    for line in out.splitlines():
        if m := re.match(r"public class ([\w.]+) implements", line):
            current = m.group(1)
            fields[current] = []
        elif m := re.fullmatch(r"\s+private ([\w.<>\[\]]+) (\w+);", line):
            fields[current].append((m.group(2), _java_type_to_jute(m.group(1))))
    return fields


@pytest.mark.parametrize("cls", _record_classes(), ids=lambda c: c.__name__)
def test_fields_match_the_java_class(cls: type[Record], javap_fields: dict[str, list[tuple[str, str]]]) -> None:
    ours = [(name, jt.name) for name, jt in cls.FIELDS]
    added = ADDED_AFTER_3_8.get(cls.__name__, [])
    ours = [f for f in ours if f[0] not in added]
    assert cls.JUTE_NAME in javap_fields, f"{cls.JUTE_NAME} is not in ZooKeeper 3.8's jar"
    assert ours == javap_fields[cls.JUTE_NAME]
