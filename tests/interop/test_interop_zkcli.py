"""zkCli.sh, Apache ZooKeeper's own shell, against ours and against the reference.

One zkCli session per server (JVM starts are the slow part): the same commands go in on
stdin, and the two outputs must match once times, ports and session ids are normalised.
Watch notifications and "Sync is OK" are printed by zkCli's event thread, so they may
land between any two lines: they are compared as a set, the rest line by line.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from zk import lab
from zk.lab import reference_missing_reason

ZKCLI = "/usr/share/zookeeper/bin/zkCli.sh"

pytestmark = [
    pytest.mark.skipif(reference_missing_reason() is not None, reason=reference_missing_reason() or ""),
    pytest.mark.skipif(not os.path.exists(ZKCLI), reason=f"{ZKCLI} not installed (apt-get install zookeeper)"),
]

COMMANDS = """\
create /c data
create -e /c/e eph
create -s /c/s- x
create -s -e /c/se- y
create -c /c/cont
create -t 60000 /c/ttl t
create -t 60000 /c/ttl/child
create /c
create /missing/x
get -s /c
set /c newdata
set -v 0 /c x
set -s -v 1 /c x2
stat /c
stat /nothing
ls /c
ls -s /c
ls -R /c
getAcl /c
setAcl /c world:anyone:cdrwa
setAcl /c ip:127.0.0.1:cdrwa
getAcl -s /c
addauth digest u:p
whoami
create /d d auth::cdrwa
getAcl /d
setAcl /d digest:u:x:rw
getEphemerals
getEphemerals /c/s
getAllChildrenNumber /c
getAllChildrenNumber /
addWatch /c
addWatch -m PERSISTENT_RECURSIVE /c/cont
set /c w
create /c/cont/k
get -w /c/e
delete /c/e
delete /c
delete -v 5 /c/s-0000000002
delete /c/s-0000000002
deleteall /c
ls /
ls /zookeeper
get /zookeeper/quota
get /nonexistent
sync /
quit
"""

_ASYNC_START = ("WATCHER::", "WatchedEvent ", "Sync is OK")
RAW: dict[str, str] = {}  # each side's zkCli output and server log, shown when a comparison fails


def _run_cli(server: lab.SyncServer) -> str:
    result = subprocess.run(
        [ZKCLI, "-server", server.connect_string],
        input=COMMANDS,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=60,
    )
    return result.stdout


def normalise(output: str, port: int) -> tuple[list[str], list[str]]:
    """(ordered lines, sorted asynchronous lines), with times, ports, session ids replaced."""
    sessions: dict[str, str] = {}

    def session(m: re.Match[str]) -> str:
        return f"{m.group(1)}" + sessions.setdefault(m.group(2), f"<session{len(sessions) + 1}>")

    ordered, async_lines = [], []
    for line in output.splitlines():
        if line.startswith("SLF4J:") or not line.strip():
            continue
        line = line.replace(str(port), "<port>")
        line = re.sub(r"^(ctime|mtime) = .*", r"\1 = <time>", line)
        line = re.sub(r"(ephemeralOwner = )(0x[0-9a-f]{6,})", session, line)
        line = re.sub(r"^(u:)[A-Za-z0-9+/=]{28}", r"\1<digest>", line)
        if line == "WatchedEvent state:Closed type:None path:null":
            continue  # printed at quit or not, as the JVM's exit races zkCli's event thread
        (async_lines if line.startswith(_ASYNC_START) else ordered).append(line)
    return ordered, sorted(async_lines)


@pytest.fixture(scope="module")
def outputs() -> Iterator[tuple[tuple[list[str], list[str]], tuple[list[str], list[str]]]]:
    config = {"4lw.commands.whitelist": "*", "forceSync": "no"}

    def run(kind: str) -> tuple[list[str], list[str]]:
        extra = {"extendedTypesEnabled": "true"} if kind == "ours" else {}
        with lab.start_server_sync(kind, trace=False, config={**config, **extra}) as s:  # type: ignore[arg-type]
            output = _run_cli(s)
            RAW[kind] = output + "\n--- server log ---\n" + s.process.log_tail()
            return normalise(output, s.port)

    with ThreadPoolExecutor(max_workers=2) as pool:
        ours, ref = pool.submit(run, "ours"), pool.submit(run, "reference")
        yield ours.result(), ref.result()


def test_zkcli_prints_the_same_lines(
    outputs: tuple[tuple[list[str], list[str]], tuple[list[str], list[str]]],
) -> None:
    (ours, _), (ref, _) = outputs
    assert "Created /c" in ref, ref  # the reference really ran the script
    assert ours == ref


def test_zkcli_sees_the_same_watch_events(
    outputs: tuple[tuple[list[str], list[str]], tuple[list[str], list[str]]],
) -> None:
    (_, ours), (_, ref) = outputs
    assert any("NodeDataChanged path:/c" in line for line in ref), ref
    assert ours == ref, f"ours:\n{RAW.get('ours')}\n\nreference:\n{RAW.get('reference')}"
