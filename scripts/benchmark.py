#!/usr/bin/env python3
"""Benchmark: lines/s from gzip bytes to the NDJSON bulk body, against a plain gunzip of the same
bytes, and peak memory for a small and a large object. All figures come from one run.

    python scripts/benchmark.py [--lines 200000] [--repeat 3] [--memory-lines 20000,1000000] [--e2e]

- throughput, per format (ALB, S3 access): generated logs, gzip-compressed; "baseline" is a plain
  gunzip and split into lines of the same bytes (zlib in 1 MiB reads, as the reader does); "ingest"
  is reader + parser + bulk encoder up to the bulk body bytes (action line + document, with index
  and _id), with the C accelerator when it is built; "pure_python" the same without it (the bodies
  must be byte-identical). Single process, single thread: one core. Best of --repeat runs.
- throughput_python_only: the same for the formats the C accelerator does not cover (NLB, Classic,
  ALB connection and health-check logs, CloudFront), on their Python path, against the same gunzip
  baseline; `--only-python-formats` runs just these.
- memory: a fresh process per input size runs the whole pipeline on a gzip file into a sink that
  discards bulk bodies, and reports its peak RSS; memory must not grow with the object size.
- --e2e (--only-e2e: that alone): the same pipeline through the OpenSearch bulk writer (gzip, chunking,
  per-item response handling) into scripts/bulk_endpoint.py running in another process on 127.0.0.1,
  for each --send-threads (0: one thread; 1: compress and send on a background thread while the next
  request is parsed), against parse-only in the same run: lines/s, the ratio, the CPU-time ratio (the
  parsing thread's, which the machine's load moves far less), bytes on the wire, and Lambda GB-seconds,
  dollars and GB of logs per 15 min (from CPU time; see end_to_end), and the endpoint's own CPU time
  against the run's (the stand-in shares the cores a real cluster would not; --discard keeps it near
  nothing). --latency S: the endpoint answers
  each request S seconds late, as a cluster that takes time to index; --one-cpu: the pipeline on one
  CPU, as a Lambda up to 1,769 MB; --e2e-formats all: every format, not only ALB and S3 (the Lambda cost
  per GB of each).
- --cold-start [RUNS]: the import time of a cold start (python -X importtime), with python-isal and
  with it blocked (the zlib fallback), median of RUNS fresh processes.
- --enrich: lines/s with GeoIP (City + ASN) and user-agent parsing on against off, C path, on the same
  generated traffic (its clients and agents repeat as in real logs), with test databases built by
  scripts/geoip_testdb.py; each run starts with empty caches, as an invocation does. Also the cold-start
  cost of turning it on (imports, opening the databases, the parser's first line).
- --callgrind [N]: instructions per line, counted by `valgrind --tool=callgrind` (noise does not move
  them), for N lines (default 20,000) of each format: `floor` (gunzip + split), `parse` (gzip bytes to
  bulk bodies, C accelerator), `parse_python` (the same without it), `compress` (parse, then gzip the
  bodies as the shipper does), `end_to_end` (the whole pipeline through the OpenSearch bulk writer into
  a discarding endpoint in another process, which is not counted). Each figure is one process's count
  less that of a process that only starts, imports the pipeline and reads the file, divided by N.
- --opensearch: the same, into a real OpenSearch: the local single node of scripts/opensearch_node.py
  (1 GiB heap, full JIT; or $OPENSEARCH_URL with OPENSEARCH_AUTH), with the product's templates
  installed; lines/s until every document is acknowledged, --opensearch-lines per format. The node
  shares the machine's cores with the pipeline, so this is a floor, not what a cluster takes.
"""
from __future__ import annotations

import argparse
import gzip
import importlib
import io
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from generate_logs import (CF_LEGACY_FIELDS, alb_connection_line, alb_health_check_line, alb_line,  # noqa: E402
                           clb_line, cloudfront_record, nlb_line, s3_line)

from ingest.bulk import BulkEncoder, encode_batches, takes_native_path  # noqa: E402
from ingest.formats import FORMATS, key_info  # noqa: E402
from ingest.reader import READ_SIZE, line_batches  # noqa: E402

ALB_KEY = ("AWSLogs/123456789012/elasticloadbalancing/us-east-1/2026/11/25/123456789012_elasticloadbalancing_"
           "us-east-1_app.demo-alb.50dc6c495c0c9188_20261125T1205Z_10.0.1.23_1a2b3c4d.log.gz")
S3_KEY = "logs/2026-11-25-12-05-00-0123456789ABCDEF"
def _lines(make_line):
    """A log of `lines` lines made one by one by `make_line(rng, when)`."""
    def make(lines: int, rng: random.Random, start: datetime) -> str:
        return "\n".join(make_line(rng, start + timedelta(milliseconds=i)) for i in range(lines)) + "\n"
    return make


def cloudfront_log(lines: int, rng: random.Random, start: datetime) -> str:
    """A legacy W3C CloudFront log: the two header lines, then `lines` tab-separated records."""
    rows = ("\t".join(cloudfront_record(rng, start + timedelta(milliseconds=i))[k] for k in CF_LEGACY_FIELDS)
            for i in range(lines))
    return "#Version: 1.0\n#Fields: " + " ".join(CF_LEGACY_FIELDS) + "\n" + "\n".join(rows) + "\n"


# Formats the C accelerator does not cover: (their log maker, an object key AWS would give it); only
# their Python path is measured.
PYTHON_ONLY = {
    "nlb": (_lines(nlb_line), "AWSLogs/123456789012/elasticloadbalancing/us-east-1/2026/11/25/123456789012_"
                              "elasticloadbalancing_us-east-1_net.demo-nlb.c6e77e28c25b2234_20261125T1205Z_1a2b3c4d.log.gz"),
    "clb": (_lines(clb_line), "AWSLogs/123456789012/elasticloadbalancing/us-east-1/2026/11/25/123456789012_"
                              "elasticloadbalancing_us-east-1_demo-classic_20261125T1205Z_10.0.1.77_1a2b3c4d.log"),
    "alb-connection": (_lines(alb_connection_line), ALB_KEY.replace("/123456789012_", "/conn_log_123456789012_")),
    "alb-health-check": (_lines(alb_health_check_line),
                         ALB_KEY.replace("/123456789012_", "/health_check_log_123456789012_")),
    "cloudfront": (cloudfront_log, "cf-logs/E2QWRUHAPOMQZL.2026-11-25-12.a1b2c3d4e5.gz"),
}


def key_of(fmt: str) -> str:
    """The object key a log of `fmt` is delivered under (it names the format and the account/region)."""
    return PYTHON_ONLY[fmt][1] if fmt in PYTHON_ONLY else ALB_KEY if fmt == "alb" else S3_KEY


def make_log(fmt: str, lines: int, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    start = datetime(2026, 11, 25, 12, tzinfo=timezone.utc)
    make = PYTHON_ONLY[fmt][0] if fmt in PYTHON_ONLY else _lines(alb_line if fmt == "alb" else s3_line)
    text = make(lines, rng, start)
    return gzip.compress(text.encode(), 6)


def baseline(data: bytes) -> int:
    """Plain gunzip-and-split of the same bytes: the floor any loader pays."""
    stream, d, pending, count = io.BytesIO(data), zlib.decompressobj(31), b"", 0
    while chunk := stream.read(READ_SIZE):
        block = pending + d.decompress(chunk)
        cut = block.rfind(b"\n")
        count += len(block[:cut].split(b"\n"))
        pending = block[cut + 1:]
    return count + (1 if pending else 0)


def ingest(data: bytes, fmt: str, native: bool = True, enricher=None) -> tuple[int, int]:
    """Reader + parser + bulk encoder up to the bulk body bytes; (lines, bulk body bytes).
    `native=False`: without the C accelerator (the pure-Python path every line can take).
    `enricher`: GeoIP / user agents on (ingest/enrich.py), its caches emptied first as per invocation."""
    key = key_of(fmt)
    if enricher is not None:
        enricher.new_invocation()
    encoder = BulkEncoder(FORMATS[fmt], "s3://bucket/" + key, key=key_info(key), native=native, enricher=enricher)
    lines = size = 0
    batches = line_batches(io.BytesIO(data).read, check_json_safe=not (native and takes_native_path()))
    for items, _ in encode_batches(encoder, batches):  # as the pipeline reads them
        body = b"".join(item.body for item in items)  # what a bulk request carries
        lines += len(items)
        size += len(body)
    return lines, size


def best_of(repeat: int, fn, *args):
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn(*args)
        best = min(best, time.perf_counter() - started)
    return best, result


def throughput(lines: int, repeat: int) -> list[dict]:
    rows = []
    for fmt in ("alb", "s3-access"):
        progress(f"throughput: {fmt}, {lines:,} lines, best of {repeat} (gunzip, C path, Python path)")
        data = make_log(fmt, lines)
        base_s, base_lines = best_of(repeat, baseline, data)
        ours_s, (ours_lines, body_bytes) = best_of(repeat, ingest, data, fmt)
        python_s, (python_lines, python_bytes) = best_of(repeat, ingest, data, fmt, False)
        assert base_lines == ours_lines == python_lines == lines, (base_lines, ours_lines, python_lines, lines)
        assert python_bytes == body_bytes, "the C accelerator and the Python path wrote different bodies"
        rows.append({"format": fmt, "lines": lines, "gzip_bytes": len(data), "bulk_body_bytes": body_bytes,
                     "baseline_lines_per_s": round(lines / base_s), "ingest_lines_per_s": round(lines / ours_s),
                     "ingest_vs_baseline": round(base_s / ours_s, 3),
                     "pure_python_lines_per_s": round(lines / python_s)})
    return rows


def python_only_throughput(lines: int, repeat: int) -> list[dict]:
    """Lines/s from gzip bytes to the bulk body for the formats only the Python path parses."""
    rows = []
    for fmt in PYTHON_ONLY:
        progress(f"throughput: {fmt}, {lines:,} lines, best of {repeat} (gunzip, Python path)")
        data = make_log(fmt, lines)
        base_s, base_lines = best_of(repeat, baseline, data)
        python_s, (python_lines, body_bytes) = best_of(repeat, ingest, data, fmt, False)
        # (a W3C header line is read but makes no document)
        assert python_lines == lines <= base_lines, (base_lines, python_lines, lines)
        rows.append({"format": fmt, "lines": lines, "gzip_bytes": len(data), "bulk_body_bytes": body_bytes,
                     "baseline_lines_per_s": round(lines / base_s), "pure_python_lines_per_s": round(lines / python_s),
                     "python_vs_baseline": round(base_s / python_s, 3)})
    return rows


class _DiscardSink:
    def send(self, items, deadline):
        b"".join(item.body for item in items)
        return []

    def close(self):
        pass


class _NoDeadLetter:
    """The benchmark's objects are clean: nothing may reach a dead letter."""

    def store(self, letter, day):
        assert not letter.count
        return None


def memory_child(path: str, fmt: str) -> None:
    """Run in a fresh process: the whole pipeline on one file; print lines and peak RSS (KiB)."""
    from ingest.pipeline import LocalFile, Options, process_object

    key = key_of(fmt)
    report = process_object(LocalFile(path, key), _DiscardSink(), _NoDeadLetter(), Options(log_format=fmt))
    assert report.status == "ok", report.error
    # VmHWM, not ru_maxrss: ru_maxrss survives exec, so a child would report its parent's peak.
    peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    print(json.dumps({"lines": report.lines_read, "peak_rss_kib": peak}))


def memory(sizes: list[int]) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("alb", "s3-access"):
            for lines in sizes:
                progress(f"peak memory: {fmt}, a {lines:,}-line object in a fresh process")
                path = Path(tmp) / f"{fmt}-{lines}.log.gz"
                path.write_bytes(make_log(fmt, lines))
                out = subprocess.run([sys.executable, __file__, "--memory-child", str(path), fmt],
                                     check=True, capture_output=True, text=True).stdout
                result = json.loads(out)
                rows.append({"format": fmt, "lines": result["lines"], "gzip_bytes": path.stat().st_size,
                             "uncompressed_bytes": len(gzip.decompress(path.read_bytes())),
                             "peak_rss_mib": round(result["peak_rss_kib"] / 1024, 1)})
    return rows


def end_to_end(lines: int, repeat: int = 3, send_threads: tuple[int, ...] = (0, 1), latency: float = 0.0,
               one_cpu: bool = False, formats: tuple[str, ...] = ("alb", "s3-access")) -> list[dict]:
    """The whole pipeline into a discarding _bulk endpoint in another process, against parse-only
    (ingest(): the same file to bulk bodies, nothing sent) in the same run; best of `repeat` each, for
    each `send_threads` (0: one thread; 1: compress and send on a background thread). `latency`: the
    endpoint answers each request that many seconds late, as a cluster busy indexing. `one_cpu`: this
    process runs on one CPU (as a Lambda of up to 1,769 MB), the endpoint on any."""
    from ingest.pipeline import LocalFile, Options, process_object
    from ingest.shipper import OpenSearchSink

    rows = []
    endpoint = _discard_endpoint(latency)
    with tempfile.TemporaryDirectory() as tmp, endpoint as url:
        if one_cpu:  # after the endpoint started, so that it keeps every CPU; threads started later inherit it
            os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        for fmt in formats:
            progress(f"end to end: {fmt}, {lines:,} lines into a local _bulk endpoint, send threads "
                     f"{'/'.join(map(str, send_threads))}, and parse-only, best of {repeat}")
            data = make_log(fmt, lines)
            path = Path(tmp) / f"{fmt}.log.gz"
            path.write_bytes(data)
            parse_s, _ = best_of(repeat, ingest, data, fmt)
            parse_cpu = min(_cpu(ingest, data, fmt)[0] for _ in range(repeat))
            log_gb = len(gzip.decompress(data)) / 1e9  # uncompressed log bytes, as AWS bills "GB of logs"
            for threads in send_threads:
                best, cpu, thread_cpu, all_cpu = float("inf"), 0.0, float("inf"), float("inf")
                endpoint_cpu = 0.0
                for _ in range(repeat):
                    sink = OpenSearchSink(url, None)
                    before = json.load(urllib.request.urlopen(url + "/_stats"))
                    endpoint_started = endpoint.cpu_seconds()
                    started, cpu_started = time.perf_counter(), time.process_time()
                    (calling_thread, report), seconds = _cpu(
                        process_object, LocalFile(str(path), key_of(fmt)), sink,
                        _NoDeadLetter(), Options(log_format=fmt, send_threads=threads)), time.perf_counter() - started
                    thread_cpu = min(thread_cpu, calling_thread)
                    all_cpu = min(all_cpu, time.process_time() - cpu_started)
                    if seconds < best:
                        best, cpu = seconds, time.process_time() - cpu_started
                        endpoint_cpu = endpoint.cpu_seconds() - endpoint_started
                    after = json.load(urllib.request.urlopen(url + "/_stats"))
                    sink.close()
                    assert report.status == "ok" and report.indexed == lines, report
                requests = after["requests"] - before["requests"]
                sent = after["bytes_received"] - before["bytes_received"]
                # One thread needs one vCPU (1,769 MB); the background sender a second one (3,538 MB).
                memory_gb = LAMBDA_MEMORY_GB * (1 if one_cpu else 1 + min(threads, 1))
                # Lambda's time from CPU time, which a busy machine inflates far less than wall time: one vCPU
                # takes the process's CPU time; with the sender on a second vCPU, the parsing thread's bounds
                # it. With --latency the waits count, and only wall time has them.
                lambda_seconds = best if latency else thread_cpu if threads and not one_cpu else all_cpu
                seconds_per_gb = lambda_seconds / log_gb
                rows.append({"format": fmt, "send_threads": threads, "lines_per_s": round(lines / best),
                             "parse_only_lines_per_s": round(lines / parse_s),
                             "ratio_to_parse": round(parse_s / best, 2), "cores_busy": round(cpu / best, 2),
                             # CPU time, which the machine's load moves far less than wall time: the
                             # parsing thread's against parse-only is what two idle cores would give at
                             # best (time waiting for the GIL is not in it).
                             "cpu_ratio_to_parse": round(parse_cpu / thread_cpu, 2),
                             "endpoint_cpu_share": round(endpoint_cpu / best, 2),
                             "requests_per_100k_lines": round(requests * 100_000 / lines, 1),
                             "bytes_on_wire_per_line": round(sent / lines, 1),
                             "lambda_mb": round(memory_gb * 1024),
                             "lambda_gb_s_per_gb": round(seconds_per_gb * memory_gb, 1),
                             "usd_per_gb_arm64": round(seconds_per_gb * memory_gb * USD_PER_GB_S["arm64"], 5),
                             "gb_of_logs_in_15_min": round(LAMBDA_MAX_SECONDS / seconds_per_gb, 1)})
    return rows


# What a cold start imports before the first object: the handler module, then what _Runtime imports.
COLD_START_MODULES = ("ingest.handler", "boto3", "ingest.auth", "ingest.deadletter", "ingest.shipper")


def cold_start(runs: int = 7) -> list[dict]:
    """Import time of the Lambda's cold start (`python -X importtime`, the modules' cumulative times at the
    top level summed), median of `runs` fresh processes, with python-isal importable and with it blocked
    (the shipper then falls back to zlib), and isal's own share."""
    rows = []
    for label, block in (("isal importable", ""), ("isal blocked", "import sys; sys.modules['isal'] = None; ")):
        progress(f"cold-start imports, {label}, median of {runs} fresh processes")
        totals, isal = [], []
        for _ in range(runs):
            run = subprocess.run([sys.executable, "-X", "importtime", "-c", block + "import " + ", ".join(COLD_START_MODULES)],
                                 cwd=ROOT, capture_output=True, text=True, check=True)
            cumulative = {}
            for line in run.stderr.splitlines():
                if line.startswith("import time:") and line.count("|") == 2:
                    _, total, name = line.split("|")
                    if total.strip().isdigit():
                        cumulative.setdefault(name.rstrip(), int(total))  # "  isal" keeps its indent
            totals.append(sum(cumulative.get(" " + name, 0) for name in COLD_START_MODULES))
            isal.append(sum(us for name, us in cumulative.items() if name.strip() in ("isal", "isal.igzip")))
        rows.append({"imports": label, "runs": runs, "median_ms": round(statistics.median(totals) / 1000, 1),
                     "min_ms": round(min(totals) / 1000, 1), "max_ms": round(max(totals) / 1000, 1),
                     "isal_ms": round(statistics.median(isal) / 1000, 1)})
    return rows


def _cpu(fn, *args):
    """(CPU seconds of the calling thread, result)."""
    started = time.thread_time()
    result = fn(*args)
    return time.thread_time() - started, result


def progress(text: str) -> None:
    """What the benchmark is doing now, on stderr (the figures go to stdout)."""
    print(f"benchmark: {text} …", file=sys.stderr, flush=True)


# Lambda pricing for the cost estimate (us-east-1, per GB-second of memory; requests not included).
LAMBDA_MEMORY_GB = 1769 / 1024
LAMBDA_MAX_SECONDS = 900
USD_PER_GB_S = {"x86_64": 0.0000166667, "arm64": 0.0000133334}

CALLGRIND_STEPS = ("floor", "parse", "parse_python", "compress", "end_to_end")


def callgrind_child(step: str, fmt: str, path: str, url: str) -> None:
    """One step on one file, in a process that valgrind counts (see --callgrind)."""
    data = Path(path).read_bytes()
    for module in ("ingest.pipeline", "ingest.shipper"):  # so the start count includes their imports
        importlib.import_module(module)
    if step == "start":
        return
    if step.endswith("_enriched"):  # databases from callgrind(); the start count includes opening them
        from ingest.enrich import Enricher

        geoip = Path(os.environ["BENCHMARK_GEOIP_DIR"])
        enricher = Enricher(str(geoip / "GeoLite2-City-Test.mmdb"), str(geoip / "GeoLite2-ASN-Test.mmdb"), True)
        enricher.ua_miss(b"curl/8.5.0")  # ua-parser compiles its rules on the first string
        if step == "parse_enriched":
            ingest(data, fmt, True, enricher)
        return
    if step == "floor":
        baseline(data)
    elif step in ("parse", "parse_python"):
        ingest(data, fmt, native=step == "parse")
    elif step == "compress":
        from ingest.shipper import DEFAULT_COMPRESS_LEVEL, compress_body

        key = key_of(fmt)
        encoder = BulkEncoder(FORMATS[fmt], "s3://bucket/" + key, key=key_info(key))
        for items, _ in encode_batches(encoder, line_batches(io.BytesIO(data).read)):
            compress_body(b"".join(item.body for item in items), DEFAULT_COMPRESS_LEVEL)
    elif step == "end_to_end":
        from ingest.pipeline import LocalFile, Options, process_object
        from ingest.shipper import OpenSearchSink

        report = process_object(LocalFile(path, key_of(fmt)), OpenSearchSink(url, None),
                                _NoDeadLetter(), Options(log_format=fmt))
        assert report.status == "ok", report


def callgrind(lines: int) -> list[dict]:
    import re
    import shutil

    if shutil.which("valgrind") is None:
        raise SystemExit("benchmark: --callgrind needs valgrind (apt-get install valgrind)")
    import geoip_testdb

    rows = []
    with tempfile.TemporaryDirectory() as tmp, _discard_endpoint() as url:
        geoip_testdb.build(Path(tmp) / "geoip")
        for fmt in ("alb", "s3-access"):
            path = Path(tmp) / f"{fmt}.log.gz"
            path.write_bytes(make_log(fmt, lines))
            counts = {}
            for step in ("start", *CALLGRIND_STEPS, "start_enriched", "parse_enriched"):
                progress(f"callgrind: {fmt}, {step}, {lines:,} lines (valgrind is ~50x slower)")
                run = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out.%p",
                                      sys.executable, __file__, "--callgrind-child", step, fmt, str(path), url],
                                     capture_output=True, text=True, check=True,
                                     env={**os.environ, "BENCHMARK_GEOIP_DIR": f"{tmp}/geoip"})
                counts[step] = int(re.search(r"Collected : (\d+)", run.stderr).group(1))
            row = {"format": fmt, "lines": lines}
            row.update({f"{step}_instr_per_line": round((counts[step] - counts["start"]) / lines)
                        for step in CALLGRIND_STEPS})
            # GeoIP + user agents on, C path, less a start that also opened the databases and the parser
            row["parse_enriched_instr_per_line"] = round((counts["parse_enriched"] - counts["start_enriched"]) / lines)
            rows.append(row)
    return rows


class _discard_endpoint:
    """scripts/bulk_endpoint.py --discard in another process on a free loopback port; its URL."""

    def __init__(self, latency: float = 0.0):
        self.latency = latency

    def __enter__(self) -> str:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.server = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "bulk_endpoint.py"), "--port",
                                        str(port), "--discard", "--latency", str(self.latency)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(url + "/_stats", timeout=1)
                return url
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the discarding _bulk endpoint did not start")

    def cpu_seconds(self) -> float:
        """The endpoint process's CPU time so far (user + system, all its threads; Linux /proc)."""
        fields = Path(f"/proc/{self.server.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def __exit__(self, *exc) -> None:
        self.server.terminate()
        self.server.wait()


def into_opensearch(lines: int) -> list[dict]:
    """End to end into a real OpenSearch: the local node, or $OPENSEARCH_URL."""
    import importlib.util

    from ingest.pipeline import LocalFile, Options, process_object
    from ingest.shipper import OpenSearchSink

    def script(name: str):
        spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "scripts" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return module

    node, auth = None, None
    url = os.environ.get("OPENSEARCH_URL", "")
    prefixes = {"alb": "bench-alb-logs", "s3-access": "bench-s3-access-logs"}
    if url:
        from ingest.auth import build_auth
        auth = build_auth(os.environ.get("OPENSEARCH_AUTH", "auto"), url=url, region=os.environ.get("AWS_REGION"),
                          secret_id=os.environ.get("OPENSEARCH_SECRET_ID"))
    else:
        nodes = script("opensearch_node")
        missing = nodes.missing_prerequisites()
        if missing:
            raise SystemExit(f"--opensearch needs OPENSEARCH_URL or a local node: {missing}")
        node = nodes.LocalNode.start(heap="1g", fast_start=False)
        url = node.url
        print(f"local OpenSearch {node.version}: started in {node.started_in:.1f} s", file=sys.stderr)
    import requests

    rows = []
    try:
        code = script("bootstrap_opensearch").main(
            ["--opensearch-url", url, "--auth", os.environ.get("OPENSEARCH_AUTH", "auto") if node is None else "none",
             "--skip-dashboards", *[arg for name, prefix in prefixes.items() for arg in (f"--{name}-prefix", prefix)]],
            out=io.StringIO(), err=sys.stderr)
        if code:
            raise SystemExit("--opensearch: the bootstrap failed")

        with tempfile.TemporaryDirectory() as tmp:
            for fmt in ("alb", "s3-access"):
                path = Path(tmp) / f"{fmt}.log.gz"
                path.write_bytes(make_log(fmt, lines))
                sink = OpenSearchSink(url, auth)
                started = time.perf_counter()
                report = process_object(LocalFile(str(path), key_of(fmt)), sink,
                                        _NoDeadLetter(), Options(log_format=fmt, index_prefixes=prefixes))
                seconds = time.perf_counter() - started
                sink.close()
                assert report.status == "ok" and report.indexed == lines, report
                pattern = f"{prefixes[fmt]}-*"
                requests.post(f"{url}/{pattern}/_refresh", auth=auth, timeout=120).raise_for_status()
                count = requests.get(f"{url}/{pattern}/_count", auth=auth, timeout=120).json()["count"]
                assert count == lines, (count, lines)
                rows.append({"format": fmt, "lines": lines, "lines_per_s": round(lines / seconds),
                             "seconds": round(seconds, 1), "documents": count,
                             "cluster": "local node" if node else url})
                requests.delete(f"{url}/{pattern}", auth=auth, timeout=120)
    finally:
        if node is not None:
            node.stop()
    return rows


def enrichment(lines: int, repeat: int) -> list[dict]:
    """Enrichment on against off, per format; and what turning it on costs at cold start."""
    import geoip_testdb

    with tempfile.TemporaryDirectory(prefix="geoip-") as scratch:
        city, asn = geoip_testdb.build(Path(scratch))
        child = ("import time; t = time.perf_counter(); from ingest.enrich import Enricher; "
                 f"e = Enricher({str(city)!r}, {str(asn)!r}, True); e.apply('\"source\":{{\"ip\":\"81.2.69.1\"}},"
                 "\"user_agent\":{\"original\":\"curl/8.5.0\"}'); print(time.perf_counter() - t)")
        cold = float(subprocess.run([sys.executable, "-c", child], cwd=ROOT, check=True, capture_output=True,
                                    text=True).stdout)
        from ingest.enrich import Enricher
        enricher = Enricher(str(city), str(asn), True)
        rows = []
        for fmt in ("alb", "s3-access"):
            progress(f"enrichment: {fmt}, {lines:,} lines, best of {repeat} (off, on)")
            data = make_log(fmt, lines)
            off_s, (off_lines, off_bytes) = best_of(repeat, ingest, data, fmt)
            on_s, (on_lines, on_bytes) = best_of(repeat, ingest, data, fmt, True, enricher)
            assert off_lines == on_lines == lines, (off_lines, on_lines, lines)
            rows.append({"format": fmt, "lines": lines, "distinct_ips": len(enricher.geo),
                         "distinct_agents": len(enricher.ua), "off_lines_per_s": round(lines / off_s),
                         "on_lines_per_s": round(lines / on_s),
                         "cost_per_line_us": round((on_s - off_s) / lines * 1e6, 2),
                         "slower_pct": round((on_s / off_s - 1) * 100, 1),
                         "body_bytes_per_line_on_minus_off": round((on_bytes - off_bytes) / lines),
                         "cold_start_s": round(cold, 3)})
    return rows


def _table(rows: list[dict]) -> str:
    keys = list(rows[0])
    widths = [max(len(k), *(len(f"{r[k]:,}" if isinstance(r[k], int) else str(r[k])) for r in rows)) for k in keys]
    cell = lambda v: f"{v:,}" if isinstance(v, int) else str(v)  # noqa: E731
    lines = ["  ".join(k.ljust(w) for k, w in zip(keys, widths))]
    lines += ["  ".join(cell(r[k]).rjust(w) for k, w in zip(keys, widths)) for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--memory-lines", default="20000,1000000", help="comma-separated object sizes in lines")
    parser.add_argument("--e2e", action="store_true", help="also run end to end through the bulk writer")
    parser.add_argument("--send-threads", default="0,1",
                        help="--e2e: the pipeline's send_threads settings to compare, comma-separated")
    parser.add_argument("--only-e2e", action="store_true", help="--e2e without the throughput and memory runs")
    parser.add_argument("--latency", type=float, default=0.0, metavar="SECONDS",
                        help="--e2e: the endpoint answers each bulk request this late (a cluster's indexing time)")
    parser.add_argument("--one-cpu", action="store_true", help="--e2e: run the pipeline on one CPU")
    parser.add_argument("--e2e-formats", default="alb,s3-access", metavar="F,F|all",
                        help="--e2e: the formats, comma-separated, or all (default: the two the C accelerator covers)")
    parser.add_argument("--opensearch", action="store_true",
                        help="also run end to end into a real OpenSearch (the local node, or $OPENSEARCH_URL)")
    parser.add_argument("--opensearch-lines", type=int, default=100_000, help="lines per format for --opensearch")
    parser.add_argument("--only-opensearch", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--cold-start", nargs="?", type=int, const=7, metavar="RUNS",
                        help="only the cold start's import time, with and without python-isal (default 7 runs)")
    parser.add_argument("--enrich", action="store_true", help="also GeoIP + user agents on against off")
    parser.add_argument("--only-python-formats", action="store_true",
                        help="only the formats the C accelerator does not cover (" + ", ".join(PYTHON_ONLY) + ")")
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.add_argument("--callgrind", nargs="?", type=int, const=20_000, metavar="LINES",
                        help="only instructions per line, counted by valgrind (default 20,000 lines)")
    parser.add_argument("--memory-child", nargs=2, metavar=("PATH", "FORMAT"), help=argparse.SUPPRESS)
    parser.add_argument("--callgrind-child", nargs=4, metavar=("STEP", "FORMAT", "PATH", "URL"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    from ingest.formats import FORMATS

    e2e_formats = tuple(FORMATS) if args.e2e_formats == "all" else tuple(args.e2e_formats.split(","))
    unknown = [fmt for fmt in e2e_formats if fmt not in FORMATS]
    if unknown:
        parser.error(f"--e2e-formats: no format {', '.join(unknown)} (formats: {', '.join(FORMATS)}, or all)")
    if args.memory_child:
        memory_child(*args.memory_child)
        return 0
    if args.callgrind_child:
        callgrind_child(*args.callgrind_child)
        return 0
    if args.cold_start:
        rows = cold_start(args.cold_start)
        print(json.dumps(rows, indent=2) if args.json else f"\ncold-start imports (python -X importtime)\n{_table(rows)}")
        return 0
    if args.callgrind:
        rows = callgrind(args.callgrind)
        print(json.dumps(rows, indent=2) if args.json else f"\ninstructions per line (callgrind)\n{_table(rows)}")
        return 0
    from ingest import bulk
    if bulk._native is None:
        print("note: the C accelerator is not built (python scripts/build_native.py); "
              "ingest_lines_per_s is the pure-Python path", file=sys.stderr)
    results = {"python": sys.version.split()[0], "accelerator": bulk._native is not None}
    if args.only_python_formats:
        rows = python_only_throughput(args.lines, args.repeat)
        print(json.dumps(rows, indent=2) if args.json else f"\nthroughput_python_only (Python {results['python']}, one core)\n{_table(rows)}")
        return 0
    if not (args.only_opensearch or args.only_e2e):
        results["throughput"] = throughput(args.lines, args.repeat)
        results["throughput_python_only"] = python_only_throughput(args.lines, args.repeat)
        results["memory"] = memory([int(n) for n in args.memory_lines.split(",")])
    if args.enrich:
        results["enrichment"] = enrichment(args.lines, args.repeat)
    if args.e2e or args.only_e2e:
        results["end_to_end"] = end_to_end(args.lines, args.repeat, tuple(int(n) for n in args.send_threads.split(",")),
                                           args.latency, args.one_cpu, e2e_formats)
    if args.opensearch or args.only_opensearch:
        results["into_opensearch"] = into_opensearch(args.opensearch_lines)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for name in ("throughput", "throughput_python_only", "memory", "enrichment", "end_to_end", "into_opensearch"):
            if name in results:
                accelerator = "C accelerator" if results["accelerator"] else "no C accelerator"
                cores = "send_threads 1: a second core" if name == "end_to_end" else "one core"
                print(f"\n{name} (Python {results['python']}, {cores}, {accelerator})\n{_table(results[name])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
