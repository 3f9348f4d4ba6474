#!/usr/bin/env python3
"""The demo's second half (`make demo`): the generated logs into a real OpenSearch, and the answers.

    python scripts/demo.py demo/logs

With OPENSEARCH_URL set, that cluster (OPENSEARCH_AUTH none|basic|sigv4, default none here).
Otherwise, with Java 17+ and Maven, a local single node (scripts/opensearch_node.py) with its data in
demo/opensearch-data, stopped at the end. It installs the templates (scripts/bootstrap_opensearch.py),
sends every generated object through the Lambda's pipeline and bulk writer, and prints what the
users ask: who hit what, how often, how slowly, what failed, who was denied; all from real queries.
Without Java or Maven it says how to get this part and exits 0 (the NDJSON bulk files were written).
"""
from __future__ import annotations

import importlib.util
import io
import os
import shutil
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DATA = REPO / "demo" / "opensearch-data"
PREFIXES = {"alb": "alb-logs", "s3-access": "s3-access-logs"}


def _script(name: str):
    spec = importlib.util.spec_from_file_location(f"demo_{name}", REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class Client:
    def __init__(self, url: str, auth=None):
        self.url, self.auth = url.rstrip("/"), auth

    def search(self, index: str, body: dict) -> dict:
        response = requests.post(f"{self.url}/{index}/_search", json=body, auth=self.auth, timeout=60)
        response.raise_for_status()
        return response.json()

    def post(self, path: str) -> None:
        requests.post(f"{self.url}/{path}", auth=self.auth, timeout=60).raise_for_status()


def ingest(client: Client, logs: Path) -> tuple[int, int, int, float]:
    from ingest.deadletter import LocalDeadLetterWriter
    from ingest.pipeline import LocalFile, Options, process_object
    from ingest.shipper import OpenSearchSink

    sink = OpenSearchSink(client.url, client.auth)
    dead_letter = LocalDeadLetterWriter(str(REPO / "demo" / "dead-letter"))
    lines = documents = failures = 0
    started = time.monotonic()
    try:
        for path in sorted(p for p in logs.rglob("*") if p.is_file()):
            report = process_object(LocalFile(str(path), path.relative_to(logs).as_posix()), sink, dead_letter,
                                    Options(index_prefixes=PREFIXES))
            if report.status != "ok":
                raise SystemExit(f"demo: {path}: {report.status}: {report.error}")
            lines, documents, failures = lines + report.lines_read, documents + report.indexed, failures + report.failed
    finally:
        sink.close()
    client.post("alb-logs-*,s3-access-logs-*/_refresh")
    return lines, documents, failures, time.monotonic() - started


def table(rows: list[tuple], headers: tuple) -> str:
    cells = [tuple(str(c) for c in headers)] + [tuple(str(c) for c in row) for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("    " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
                     for row in cells)


def ms(seconds) -> str:
    return "-" if seconds is None else f"{seconds * 1000:,.0f} ms"


def answers(client: Client) -> str:
    """The users' questions, answered by queries from opensearch/queries/cookbook.md."""
    day = {"range": {"@timestamp": {"gte": "now-24h"}}}
    alb, s3 = "alb-logs-*", "s3-access-logs-*"
    out = []

    r = client.search(alb, {"size": 0, "query": day, "aggs": {
        "clients": {"terms": {"field": "source.ip", "size": 5}, "aggs": {"bytes": {"sum": {"field": "http.response.bytes"}}}},
        "paths": {"terms": {"field": "url.path", "size": 5}},
        "status": {"terms": {"field": "http.response.status_code", "size": 10}}}})
    a = r["aggregations"]
    out.append("Who hit the load balancer most (ALB, last 24 h; cookbook 2):")
    out.append(table([(b["key"], f"{b['doc_count']:,}", f"{b['bytes']['value'] / 1e6:,.1f} MB") for b in a["clients"]["buckets"]],
                     ("client IP", "requests", "sent")))
    out.append("What they asked for most (cookbook 3):")
    out.append(table([(b["key"], f"{b['doc_count']:,}") for b in a["paths"]["buckets"]], ("path", "requests")))
    out.append("How often each status came back:")
    out.append(table([(b["key"], f"{b['doc_count']:,}") for b in sorted(a["status"]["buckets"], key=lambda b: b["key"])],
                     ("status", "requests")))

    r = client.search(alb, {"size": 0, "query": day, "aggs": {
        "latency": {"percentiles": {"field": "aws.elb.target_processing_time", "percents": [50, 95, 99]}},
        "targets": {"terms": {"field": "destination.ip", "size": 3, "order": {"avg": "desc"}},
                    "aggs": {"avg": {"avg": {"field": "aws.elb.target_processing_time"}},
                             "p95": {"percentiles": {"field": "aws.elb.target_processing_time", "percents": [95]}}}}}})
    a = r["aggregations"]
    p = a["latency"]["values"]
    out.append(f"How slowly (target processing time; cookbook 4): p50 {ms(p['50.0'])}, p95 {ms(p['95.0'])}, "
               f"p99 {ms(p['99.0'])}. The slowest targets (cookbook 15):")
    out.append(table([(b["key"], f"{b['doc_count']:,}", ms(b["avg"]["value"]), ms(b["p95"]["values"]["95.0"]))
                      for b in a["targets"]["buckets"]], ("target", "requests", "average", "p95")))

    r = client.search(alb, {"size": 0, "query": day, "aggs": {
        "elb_5xx": {"filter": {"bool": {"filter": [{"range": {"http.response.status_code": {"gte": 500}}}],
                                        "must_not": [{"range": {"aws.elb.target_status_code": {"gte": 500}}}]}}},
        "target_5xx": {"filter": {"range": {"aws.elb.target_status_code": {"gte": 500}}}},
        "reasons": {"terms": {"field": "aws.elb.error_reason", "size": 5}}}})
    a = r["aggregations"]
    failures = client.search(f"{alb},{s3}", {"size": 0, "query": {"term": {"tags": "parse_failure"}},
                                              "aggs": {"files": {"cardinality": {"field": "log.file.path"}}}})
    out.append(f"What failed (cookbook 6, 8, 24): {a['elb_5xx']['doc_count']:,} 5xx made by the load balancer, "
               f"{a['target_5xx']['doc_count']:,} 5xx from targets; error reasons: "
               + ", ".join(f"{b['key']} {b['doc_count']:,}" for b in a["reasons"]["buckets"])
               + f"; {failures['hits']['total']['value']:,} lines did not parse, in "
               f"{failures['aggregations']['files']['value']} files (search tags:parse_failure for the raw lines).")

    denied = {"bool": {"filter": [{"term": {"http.response.status_code": 403}}, day]}}
    r = client.search(s3, {"size": 0, "query": denied, "aggs": {
        "ips": {"terms": {"field": "source.ip", "size": 3}}, "keys": {"terms": {"field": "aws.s3access.key", "size": 3}}}})
    a = r["aggregations"]
    out.append(f"Who was denied (S3 403, cookbook 16 and 17): {r['hits']['total']['value']:,} requests, mostly from")
    out.append(table([(b["key"], f"{b['doc_count']:,}") for b in a["ips"]["buckets"]], ("client IP", "denied")))
    out.append("for the keys")
    out.append(table([(b["key"], f"{b['doc_count']:,}") for b in a["keys"]["buckets"]], ("key", "denied")))
    waf = client.search(alb, {"size": 0, "query": {"bool": {"filter": [{"term": {"aws.elb.actions_executed": "waf"}}, day]}},
                              "aggs": {"ips": {"terms": {"field": "source.ip", "size": 3}}}})
    out.append(f"and at the load balancer, AWS WAF blocked {waf['hits']['total']['value']:,} requests (cookbook 10); "
               "top: " + ", ".join(f"{b['key']} {b['doc_count']:,}" for b in waf["aggregations"]["ips"]["buckets"]))

    r = client.search(s3, {"size": 0, "query": {"bool": {"filter": [{"term": {"aws.s3access.operation": "REST.GET.OBJECT"}}, day]}},
                           "aggs": {"objects": {"terms": {"field": "aws.s3access.key", "size": 5, "order": {"bytes": "desc"}},
                                                "aggs": {"bytes": {"sum": {"field": "http.response.bytes"}}}}}})
    out.append("The most downloaded S3 objects (cookbook 18):")
    out.append(table([(b["key"], f"{b['doc_count']:,}", f"{b['bytes']['value'] / 1e9:,.2f} GB")
                      for b in r["aggregations"]["objects"]["buckets"]], ("key", "GETs", "sent")))
    return "\n".join(out)


DASHBOARDS_HOWTO = """\
To look at the same data in OpenSearch Dashboards (needs Docker):
    .venv/bin/python scripts/opensearch_node.py run --data demo/opensearch-data --port 9200
    docker compose --profile local-node up dashboards-local        # in a second terminal
    .venv/bin/python scripts/bootstrap_opensearch.py --opensearch-url http://127.0.0.1:9200 --auth none \\
        --dashboards-url http://127.0.0.1:5601                       # imports the dashboards
    then open http://127.0.0.1:5601 (Dashboards → "[ALB] ..." and "[S3 access] ...", last 24 hours)"""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logs = Path(argv[0] if argv else "demo/logs")
    node_tool = _script("opensearch_node")
    url = os.environ.get("OPENSEARCH_URL", "").strip()
    node = None
    if not url:
        missing = node_tool.missing_prerequisites()
        if missing:
            print(f"\nThe demo stops here: the bulk bodies the Lambda would send are in demo/bulk.\n"
                  f"The full demo puts these logs into a local OpenSearch and answers questions from it, but this\n"
                  f"machine cannot run one ({missing}).\n"
                  "For the full demo, install a JDK 17+ and Maven (Debian/Ubuntu: apt-get install openjdk-17-jdk-headless\n"
                  "maven) or set OPENSEARCH_URL (and OPENSEARCH_AUTH) to a cluster of yours, then run `make demo` again.")
            return 0
        shutil.rmtree(DATA, ignore_errors=True)
        print("Starting a local OpenSearch (first time: Maven downloads the jars, about 90 MB) ...", flush=True)
        node = node_tool.LocalNode.start(data_dir=DATA)
        url = node.url
        print(f"OpenSearch {node.version} at {url}, started in {node.started_in:.1f} s (log {node.log_path})")
        auth = None
    else:
        from ingest.auth import build_auth
        auth = build_auth(os.environ.get("OPENSEARCH_AUTH", "auto"), url=url, region=os.environ.get("AWS_REGION"),
                          secret_id=os.environ.get("OPENSEARCH_SECRET_ID"))
    try:
        out, err = io.StringIO(), io.StringIO()
        bootstrap = _script("bootstrap_opensearch")
        code = bootstrap.main(["--opensearch-url", url, "--auth", os.environ.get("OPENSEARCH_AUTH", "auto"),
                               "--skip-dashboards"], out=out, err=err)
        print("Installed the index templates" + (" (this cluster has no ISM: no retention policies)"
                                                 if "no ISM" in out.getvalue() else " and retention policies"))
        if code != 0:
            print(err.getvalue(), file=sys.stderr)
            return 1
        client = Client(url, auth)
        lines, _, _, seconds = ingest(client, logs)
        held = client.search("alb-logs-*,s3-access-logs-*", {"size": 0, "track_total_hits": True, "aggs": {
            "failures": {"filter": {"term": {"tags": "parse_failure"}}}}})
        print(f"Sent {lines:,} lines through the Lambda's pipeline in {seconds:.1f} s ({lines / seconds:,.0f} lines/s); "
              f"the cluster holds {held['hits']['total']['value']:,} documents, "
              f"{held['aggregations']['failures']['doc_count']:,} of them failure records for lines that did not parse\n")
        print(answers(client))
    finally:
        if node is not None:
            node.stop()
    if node is not None:
        print(f"\nThe node is stopped; its data stays in {DATA.relative_to(REPO)}.")
        print(DASHBOARDS_HOWTO)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
