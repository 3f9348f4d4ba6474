#!/usr/bin/env python3
"""A local single-node OpenSearch 2.19 for the integration tests and the demo: no Docker, one JVM.

    python scripts/opensearch_node.py run   [--port 9200] [--data DIR]   # foreground; Ctrl-C stops it
    python scripts/opensearch_node.py start [--port N] [--data DIR]      # background; prints the URL
    python scripts/opensearch_node.py stop  [--data DIR]
    python scripts/opensearch_node.py check                              # can this machine run it?

The jars come from Maven Central through the small Maven project in opensearch/node/ (resolved once
into ~/.m2; its runtime classpath is cached in opensearch/node/target/, so later starts do not run
Maven at all). The node binds to 127.0.0.1 only, on a free port unless --port is given, keeps its
data under a throw-away folder unless --data is given, and writes its log to <data>/node.log; when it
fails to start, the tail of that log is printed. The JVM runs in its own process group and also stops
when the Python process that started it goes away (its standard input closes), so an interrupted
test run never leaves a node behind.

Library use (tests/integration/conftest.py, scripts/demo.py):
    node = LocalNode.start()          # waits for cluster health yellow
    node.url, node.started_in, node.log_path
    node.stop()
"""
from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROJECT = REPO / "opensearch" / "node"
TARGET = PROJECT / "target"
CLASSPATH_FILE = TARGET / "classpath.txt"
CLASSES = TARGET / "classes"
MAIN_CLASS = "localnode.LocalNode"
DEFAULT_HEAP = "512m"
START_TIMEOUT = 240.0
STATE_FILE = "node.json"
JVM_FLAGS = ["-Xss1m", "-Dfile.encoding=UTF-8", "-Dlog4j2.formatMsgNoLookups=true",
             "-Dio.netty.allocator.type=unpooled"]
# C1 only: the node is up in about half the time, and a test run's few thousand documents do not need C2.
# The benchmark starts without it (fast_start=False), for the throughput a long-running node has.
FAST_START_FLAGS = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"]


class NodeError(RuntimeError):
    """The node could not be built or started; the message says why (with the log's tail)."""


# ------------------------------------------------------------------------------------------
# Prerequisites and build


def java_command() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def java_major(java: str) -> int | None:
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60).stderr
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major


def missing_prerequisites() -> str | None:
    """Why this machine cannot run the local node, or None when it can (Java 17+ and Maven, or a built classpath)."""
    java = java_command()
    if java is None:
        return "no Java: install a JDK 17 or newer (e.g. apt-get install openjdk-17-jdk-headless)"
    major = java_major(java)
    if major is None or major < 17:
        return f"{java} is Java {major}; OpenSearch 2.19 needs Java 17 or newer"
    if not _build_is_current() and shutil.which("mvn") is None:
        return "no Maven (mvn) to resolve the OpenSearch jars: install it (e.g. apt-get install maven)"
    return None


def _sources() -> list[Path]:
    return [PROJECT / "pom.xml", *sorted((PROJECT / "src").rglob("*"))]


def _build_is_current() -> bool:
    if not CLASSPATH_FILE.exists() or not (CLASSES / "localnode" / "LocalNode.class").exists():
        return False
    built = CLASSPATH_FILE.stat().st_mtime
    if any(p.is_file() and p.stat().st_mtime > built for p in _sources()):
        return False
    return all(Path(jar).exists() for jar in CLASSPATH_FILE.read_text().strip().split(os.pathsep) if jar)


def build(*, out=sys.stderr) -> str:
    """Resolve the jars and compile the launcher class once; return the JVM classpath."""
    TARGET.mkdir(parents=True, exist_ok=True)
    with open(TARGET / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test sessions at once build once
        if not _build_is_current():
            mvn = shutil.which("mvn")
            if mvn is None:
                raise NodeError("no Maven (mvn) to resolve the OpenSearch jars")
            print("opensearch-node: resolving OpenSearch jars with Maven (once; cached in ~/.m2)", file=out,
                  flush=True)
            started = time.monotonic()
            result = subprocess.run([mvn, "-B", "-q", "-f", str(PROJECT / "pom.xml"), "package"],
                                    capture_output=True, text=True)
            if result.returncode != 0:
                raise NodeError("mvn package failed in opensearch/node:\n" + _tail_text(result.stdout + result.stderr))
            os.utime(CLASSPATH_FILE)  # Maven leaves an unchanged classpath file alone; mark this build current
            print(f"opensearch-node: built in {time.monotonic() - started:.1f} s", file=out, flush=True)
    return CLASSPATH_FILE.read_text().strip() + os.pathsep + str(CLASSES)


# ------------------------------------------------------------------------------------------
# The node


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail_text(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _get_json(url: str, timeout: float = 5.0):
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - 127.0.0.1 only
        return json.loads(response.read())


@dataclass
class LocalNode:
    url: str
    process: subprocess.Popen | None
    data_dir: Path
    log_path: Path
    started_in: float = 0.0  # seconds from launching the JVM to cluster health yellow
    build_seconds: float = 0.0
    version: str = ""
    remove_data: bool = False
    _stopped: bool = field(default=False, repr=False)

    @classmethod
    def start(cls, *, port: int | None = None, data_dir: str | Path | None = None, heap: str = DEFAULT_HEAP,
              detach: bool = False, timeout: float = START_TIMEOUT, fast_start: bool = True,
              out=sys.stderr) -> LocalNode:
        """Build if needed, launch the JVM and wait until the cluster is yellow.

        detach=False (tests, demo): the node stops when this process exits, however it exits.
        detach=True (`start` command): the node outlives this process; `stop` ends it.
        """
        java = java_command()
        if java is None:
            raise NodeError("no Java on PATH or in JAVA_HOME")
        building = time.monotonic()
        classpath = build(out=out)
        build_seconds = time.monotonic() - building
        remove_data = data_dir is None
        data = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="opensearch-node-"))
        data.mkdir(parents=True, exist_ok=True)
        (data / "tmp").mkdir(exist_ok=True)
        port = port or free_port()
        url = f"http://127.0.0.1:{port}"
        log_path = data / "node.log"
        flags = JVM_FLAGS + (FAST_START_FLAGS if fast_start else [])
        command = [java, f"-Xms{heap}", f"-Xmx{heap}", *flags, f"-Djava.io.tmpdir={data / 'tmp'}",
                   "-cp", classpath, MAIN_CLASS,
                   f"path.home={data / 'home'}", f"path.data={data / 'data'}", f"path.logs={data / 'logs'}",
                   f"http.port={port}", f"transport.port={free_port()}"]
        if not detach:
            command.append("--exit-on-stdin-eof")
        launched = time.monotonic()
        with open(log_path, "ab") as log:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL if detach else subprocess.PIPE,
                                       stdout=log, stderr=subprocess.STDOUT, cwd=data, start_new_session=True)
        node = cls(url=url, process=process, data_dir=data, log_path=log_path, build_seconds=build_seconds,
                   remove_data=remove_data)
        try:
            node._wait_until_ready(launched + timeout)
        except BaseException:
            node.stop()
            raise
        node.started_in = time.monotonic() - launched
        node.version = _get_json(url)["version"]["number"]
        if detach:
            (data / STATE_FILE).write_text(json.dumps({"pid": process.pid, "url": url, "log": str(log_path)}))
        return node

    def _wait_until_ready(self, deadline: float) -> None:
        health = f"{self.url}/_cluster/health?wait_for_status=yellow&timeout=1s"
        while True:
            if self.process.poll() is not None:
                raise NodeError(f"the OpenSearch JVM exited with code {self.process.returncode} before it was "
                                f"ready; log {self.log_path}:\n{self.log_tail()}")
            try:
                if _get_json(health).get("status") in ("yellow", "green"):
                    return
            except (OSError, ValueError):
                pass  # not listening yet
            if time.monotonic() > deadline:
                raise NodeError(f"OpenSearch did not become ready at {self.url}; log {self.log_path}:\n"
                                f"{self.log_tail()}")
            time.sleep(0.25)

    def log_tail(self, lines: int = 60) -> str:
        try:
            return _tail_text(self.log_path.read_text(errors="replace"), lines)
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the JVM (SIGTERM to its process group, SIGKILL after `timeout`); remove a throw-away folder."""
        if self._stopped:
            return
        self._stopped = True
        if self.process is not None and self.process.poll() is None:
            _terminate_group(self.process.pid, lambda: self.process.poll() is not None, timeout)
            self.process.wait()
        if self.remove_data:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> LocalNode:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _terminate_group(pid: int, gone, timeout: float) -> None:
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 10.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if gone():
                return
            time.sleep(0.1)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped) counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return True


# ------------------------------------------------------------------------------------------
# Command line


def _stop_detached(data: Path) -> int:
    state_path = data / STATE_FILE
    if not state_path.exists():
        print(f"no node started with `start --data {data}` is running", file=sys.stderr)
        return 1
    state = json.loads(state_path.read_text())
    _terminate_group(state["pid"], lambda: not _pid_alive(state["pid"]), 30.0)
    state_path.unlink()
    print(f"stopped the node at {state['url']} (log {state['log']})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (("run", "run in the foreground until Ctrl-C"), ("start", "start in the background"),
                       ("stop", "stop a node started with `start`"), ("check", "say whether this machine can run it")):
        p = sub.add_parser(name, help=text)
        if name in ("run", "start"):
            p.add_argument("--port", type=int, help="HTTP port on 127.0.0.1 (default: a free one)")
            p.add_argument("--heap", default=DEFAULT_HEAP, help=f"JVM heap (default {DEFAULT_HEAP})")
        if name in ("run", "start", "stop"):
            p.add_argument("--data", type=Path, help="data folder, kept afterwards (default: run uses a "
                                                     "throw-away folder; start/stop use build/opensearch-node)")
    args = parser.parse_args(argv)

    if args.command == "check":
        reason = missing_prerequisites()
        print(reason or "ok: Java and Maven found; `make opensearch` starts a local node")
        return 1 if reason else 0
    if args.command == "stop":
        return _stop_detached(args.data or REPO / "build" / "opensearch-node")
    if getattr(args, "port", None) is not None and not 0 < args.port < 65536:
        parser.error(f"--port {args.port} is not a TCP port")
    reason = missing_prerequisites()
    if reason:
        print(f"cannot start a local OpenSearch: {reason}", file=sys.stderr)
        return 1
    data = args.data
    if args.command == "start":
        data = data or REPO / "build" / "opensearch-node"
        if (data / STATE_FILE).exists():
            state = json.loads((data / STATE_FILE).read_text())
            if _pid_alive(state["pid"]):
                print(f"already running at {state['url']} (stop it with: {Path(__file__).name} stop --data {data})",
                      file=sys.stderr)
                return 1
    try:
        node = LocalNode.start(port=args.port, data_dir=data, heap=args.heap, detach=args.command == "start")
    except NodeError as exc:
        print(f"cannot start a local OpenSearch: {exc}", file=sys.stderr)
        return 1
    print(f"OpenSearch {node.version} at {node.url} (started in {node.started_in:.1f} s; data {node.data_dir}; "
          f"log {node.log_path})", file=sys.stderr, flush=True)
    if args.command == "start":
        print(node.url)
        return 0
    print(node.url, flush=True)
    stop_requested = []
    signal.signal(signal.SIGTERM, lambda *_: stop_requested.append(1))
    try:
        while not stop_requested and node.process.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        print("stopping OpenSearch ...", file=sys.stderr, flush=True)
        node.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
