"""A real OpenSearch for the integration suite, loaded once per session.

Which cluster:
- OPENSEARCH_URL set: that cluster (OPENSEARCH_AUTH auto|none|basic|sigv4, default auto: sigv4 for an Amazon endpoint, none for localhost; see ingest/connection.py).
  The suite then writes under its own random index prefixes and deletes them afterwards.
- otherwise, when Java 17+ and Maven are here: a local single node started by scripts/opensearch_node.py
  (OpenSearch 2.19 from Maven Central jars, 127.0.0.1, throw-away data), stopped at the end of the
  session, or when the run is interrupted; the default index prefixes, as the Lambda writes them.
- otherwise the suite is skipped, unless INGEST_REQUIRE_OPENSEARCH=1 (make test, CI): then it fails.

The `loaded` fixture installs the assets with scripts/bootstrap_opensearch.py, generates ALB, S3,
NLB and Classic Load Balancer access logs, ALB connection and health-check logs and CloudFront
standard logs with scripts/generate_logs.py (thousands of lines, IPv6, `-` fields, unparsable lines),
and sends every object through the real pipeline (ingest.pipeline.process_object) and the real
OpenSearchSink (gzip bodies). Tests compare what the cluster answers with a ground truth that
tests/integration/truth.py computes from the generated files on its own.
"""
from __future__ import annotations

import io
import json
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import requests

import fakes

from ingest.formats import FORMATS

REPO = Path(__file__).resolve().parents[2]
REQUIRE = os.environ.get("INGEST_REQUIRE_OPENSEARCH") == "1"
DEFAULT_PREFIXES = {name: fmt.index_prefix for name, fmt in FORMATS.items()}


def prefix_flags(prefixes: dict[str, str]) -> list[str]:
    """bootstrap_opensearch.py's flags for these index prefixes (--alb-prefix P …)."""
    return [arg for name, prefix in prefixes.items() for arg in (f"--{name}-prefix", prefix)]
ALB_LINES, S3_LINES, LINES_PER_FILE, UNPARSABLE_LINES = 6000, 6000, 1500, 25
NLB_LINES, CLB_LINES, ALB_CONNECTION_LINES, ALB_HEALTH_CHECK_LINES = 3000, 3000, 3000, 3000
CLOUDFRONT_LINES = 8500  # 6 files of 1,500 lines: legacy W3C, v2 W3C and (the last, shorter) v2 JSON
# The families the session generates and ingests, with their line counts (unparsable lines and
# CloudFront's W3C header lines aside): the formats beyond ALB and S3 access logs get fewer (their
# dashboards and cookbook requests need data, not volume).
GENERATED = {"alb": ALB_LINES, "s3-access": S3_LINES, "nlb": NLB_LINES, "clb": CLB_LINES,
             "alb-connection": ALB_CONNECTION_LINES, "alb-health-check": ALB_HEALTH_CHECK_LINES,
             "cloudfront": CLOUDFRONT_LINES}


def load_script(name: str):
    return fakes.load_script(name, f"integration_{name}")


opensearch_node = load_script("opensearch_node")
generate_logs = load_script("generate_logs")
bootstrap_script = load_script("bootstrap_opensearch")

_timings: dict[str, str] = {}


@dataclass
class Cluster:
    url: str
    auth: object = None
    node: object = None  # opensearch_node.LocalNode when the suite started it
    prefixes: dict = field(default_factory=lambda: dict(DEFAULT_PREFIXES))
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def local(self) -> bool:
        return self.node is not None

    def request(self, method: str, path: str, body=None, **params) -> requests.Response:
        return self.session.request(method, f"{self.url}/{path.lstrip('/')}", json=body, params=params or None,
                                    auth=self.auth, timeout=120)

    def ok(self, method: str, path: str, body=None, **params) -> dict:
        response = self.request(method, path, body, **params)
        assert response.status_code < 300, f"{method} {path}: HTTP {response.status_code} {response.text[:2000]}"
        return response.json()

    def search(self, index: str, body: dict) -> dict:
        return self.ok("POST", f"{index}/_search", body)

    def pattern(self, family: str) -> str:
        return f"{self.prefixes[family]}-*"

    def all_documents(self, index: str) -> list[dict]:
        """Every hit (with _index, _id, _version, _source) through the scroll API."""
        hits = []
        page = self.ok("POST", f"{index}/_search", {"size": 5000, "version": True, "sort": ["_doc"]}, scroll="2m")
        while page["hits"]["hits"]:
            hits += page["hits"]["hits"]
            page = self.ok("POST", "_search/scroll", {"scroll": "2m", "scroll_id": page["_scroll_id"]})
        self.request("DELETE", "_search/scroll", {"scroll_id": page["_scroll_id"]})
        return hits


def _external_cluster(url: str) -> Cluster:
    from ingest.auth import build_auth

    auth = build_auth(os.environ.get("OPENSEARCH_AUTH", "auto"), url=url,
                      region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
                      service=os.environ.get("OPENSEARCH_SERVICE", "es"),
                      secret_id=os.environ.get("OPENSEARCH_SECRET_ID"))
    run = uuid.uuid4().hex[:8]
    return Cluster(url.rstrip("/"), auth, prefixes={family: f"it-{run}-{prefix}"
                                                    for family, prefix in DEFAULT_PREFIXES.items()})


@pytest.fixture(scope="session")
def cluster():
    url = os.environ.get("OPENSEARCH_URL", "")
    if url:
        found = _external_cluster(url)
        yield found
        for prefix in found.prefixes.values():
            found.request("DELETE", f"{prefix}-*")
            found.request("DELETE", f"_index_template/{prefix}")
        return
    missing = opensearch_node.missing_prerequisites()
    if missing:
        message = f"no OpenSearch for the integration suite: set OPENSEARCH_URL, or provide Java and Maven ({missing})"
        if REQUIRE:
            pytest.fail(f"INGEST_REQUIRE_OPENSEARCH=1 but {message}", pytrace=False)
        pytest.skip(message)
    try:
        node = opensearch_node.LocalNode.start()
    except opensearch_node.NodeError as exc:
        pytest.fail(f"the local OpenSearch did not start: {exc}", pytrace=False)
    _timings["node"] = (f"local OpenSearch {node.version} at {node.url}: started in {node.started_in:.1f} s "
                        f"(build check {node.build_seconds:.1f} s); log {node.log_path}")
    print(f"\n{_timings['node']}", file=sys.stderr)
    try:
        yield Cluster(node.url, node=node)
    finally:
        node.stop()


@dataclass
class Loaded:
    """What the session put into the cluster, and what it should answer."""

    logs: Path
    objects: list  # ingest.pipeline.LocalFile per generated file
    reports: list  # ingest.report.ObjectReport per object, first ingestion
    bootstrap_runs: list  # (exit code, stdout, stderr) per bootstrap run
    truth: object  # truth.Truth
    geoip: tuple  # (City, ASN) test databases the documents were enriched with (scripts/geoip_testdb.py)


def run_bootstrap(cluster: Cluster) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    argv = ["--opensearch-url", cluster.url, "--skip-dashboards", *prefix_flags(cluster.prefixes)]
    if cluster.local:
        argv += ["--auth", "none"]
    else:
        argv += ["--auth", os.environ.get("OPENSEARCH_AUTH", "auto")]
    code = bootstrap_script.main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def ingest_all(cluster: Cluster, objects: list, dead_letter_dir: Path, geoip: tuple) -> list:
    """Every object through the pipeline, with GeoIP (the `geoip` test databases) and user agents on."""
    from ingest.deadletter import LocalDeadLetterWriter
    from ingest.enrich import Enricher
    from ingest.pipeline import Options, process_object
    from ingest.shipper import OpenSearchSink

    sink = OpenSearchSink(cluster.url, cluster.auth, max_docs=1000)  # several bulk requests per object
    options = Options(index_prefixes=dict(cluster.prefixes), enricher=Enricher(*map(str, geoip), True))
    try:
        reports = [process_object(obj, sink, LocalDeadLetterWriter(str(dead_letter_dir)), options) for obj in objects]
    finally:
        sink.close()
    cluster.ok("POST", ",".join(cluster.pattern(family) for family in GENERATED) + "/_refresh")
    return reports


# The generated traffic the suite loads: its lines and its seed.
GENERATE = ["--alb-lines", str(ALB_LINES), "--s3-lines", str(S3_LINES), "--nlb-lines", str(NLB_LINES),
            "--clb-lines", str(CLB_LINES), "--alb-connection-lines", str(ALB_CONNECTION_LINES),
            "--alb-health-check-lines", str(ALB_HEALTH_CHECK_LINES), "--cloudfront-lines", str(CLOUDFRONT_LINES),
            "--lines-per-file", str(LINES_PER_FILE), "--unparsable-lines", str(UNPARSABLE_LINES), "--seed", "9"]


def traffic_end(now: datetime | None = None) -> datetime:
    """When the generated traffic ends: now, except in the first hour of a UTC day, when it ends at 01:00.
    The traffic spans up to 30 minutes; run just after midnight it would straddle two daily indices, and a
    terms aggregation over two indices is approximate (each shard sends only its own top terms), so the
    cookbook's top-N answers would miss the truth by a few documents from 00:00 to 00:30 UTC. Up to an hour
    in the future is harmless: every query's time range is open-ended (`gte now-…`)."""
    now = now or datetime.now(timezone.utc)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return max(now, midnight + timedelta(hours=1))


@pytest.fixture(scope="session")
def loaded(cluster, tmp_path_factory, geoip_databases) -> Loaded:
    from ingest.pipeline import LocalFile

    from .truth import Truth

    logs = tmp_path_factory.mktemp("generated-logs")
    assert generate_logs.main(["--out", str(logs), *GENERATE], now=traffic_end()) == 0
    runs = [run_bootstrap(cluster), run_bootstrap(cluster)]  # twice: it must converge, not fail
    assert runs[0][0] == 0, f"bootstrap failed: {runs[0][2]}"
    objects = [LocalFile(str(p), p.relative_to(logs).as_posix())
               for p in sorted(x for x in logs.rglob("*") if x.is_file())]
    started = time.monotonic()
    reports = ingest_all(cluster, objects, tmp_path_factory.mktemp("dead-letter"), geoip_databases)
    seconds = time.monotonic() - started
    lines = sum(r.lines_read for r in reports)
    _timings["ingest"] = f"ingested {lines:,} lines in {len(objects)} objects in {seconds:.1f} s ({lines / seconds:,.0f} lines/s)"
    return Loaded(logs, objects, reports, runs, Truth.from_folder(logs), geoip_databases)


def pytest_terminal_summary(terminalreporter):
    if _timings:
        terminalreporter.write_sep("-", "integration cluster")
        for line in _timings.values():
            terminalreporter.write_line(line)
