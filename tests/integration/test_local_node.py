"""scripts/opensearch_node.py: the local node is OpenSearch 2.19 on 127.0.0.1 with the modules the
product relies on, and it never outlives the process that started it."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from .conftest import REPO, REQUIRE, opensearch_node

pytestmark = pytest.mark.integration

MODULES = {
    "org.opensearch.transport.Netty4Plugin",  # HTTP
    "org.opensearch.analysis.common.CommonAnalysisPlugin",
    "org.opensearch.index.mapper.MapperExtrasPlugin",
    "org.opensearch.ingest.common.IngestCommonPlugin",
    "org.opensearch.ingest.useragent.IngestUserAgentPlugin",
    "org.opensearch.painless.PainlessPlugin",
    "org.opensearch.index.reindex.ReindexPlugin",
}


@pytest.fixture
def local(cluster):
    if not cluster.local:
        pytest.skip("OPENSEARCH_URL points at another cluster; these tests are about the local node")
    return cluster


def test_it_is_opensearch_2_19_bound_to_loopback_only(local):
    root = local.ok("GET", "/")
    http = local.ok("GET", "_nodes/_local/http")

    assert root["version"]["distribution"] == "opensearch" and root["version"]["number"].startswith("2.19.")
    [node] = http["nodes"].values()
    assert all(address.startswith(("127.0.0.1:", "[::1]:")) for address in node["http"]["bound_address"])


def test_it_loads_the_modules_the_product_relies_on(local):
    [node] = local.ok("GET", "_nodes/_local/plugins")["nodes"].values()

    assert {p["name"] for p in node["plugins"]} >= MODULES


def test_painless_runs_and_the_ingest_processors_are_there(local):
    script = local.ok("POST", "_scripts/painless/_execute", {"script": {"source": "params.a * 2", "params": {"a": 21}}})
    simulated = local.ok("POST", "_ingest/pipeline/_simulate", {
        "pipeline": {"processors": [{"user_agent": {"field": "ua"}}, {"grok": {"field": "m", "patterns": ["%{IP:ip}"]}}]},
        "docs": [{"_source": {"ua": "curl/8.5.0", "m": "2001:db8::1"}}]})

    assert script["result"] == "42"
    doc = simulated["docs"][0]["doc"]["_source"]
    assert doc["user_agent"]["name"] == "curl" and doc["ip"] == "2001:db8::1"


def test_a_node_stops_when_the_process_that_started_it_is_killed(tmp_path):
    missing = opensearch_node.missing_prerequisites()
    if missing:
        if REQUIRE:
            pytest.fail(f"INGEST_REQUIRE_OPENSEARCH=1 but {missing}")
        pytest.skip(missing)
    launcher = subprocess.Popen(
        [sys.executable, "-c",
         "import json, sys, time; sys.path.insert(0, 'scripts'); import opensearch_node as o; "
         f"n = o.LocalNode.start(data_dir={str(tmp_path)!r}); "
         "print(json.dumps({'pid': n.process.pid, 'url': n.url}), flush=True); time.sleep(600)"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        started = json.loads(launcher.stdout.readline())
    finally:
        launcher.kill()  # SIGKILL: no atexit, no finally, no signal handler runs in the launcher
        launcher.wait()

    deadline = time.monotonic() + 60
    while alive(started["pid"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    if alive(started["pid"]):
        os.kill(started["pid"], signal.SIGKILL)
        pytest.fail("the JVM outlived its launcher")
    assert "standard input closed, stopping" in (tmp_path / "node.log").read_text()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return open(f"/proc/{pid}/stat").read().split()[2] != "Z"
    except OSError:
        return False
