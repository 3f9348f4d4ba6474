"""Command line: the same pipeline as the Lambda, over local files or s3:// URIs.

    python -m ingest parse --format alb|s3-access [PATH|-]
        one JSON document per input line (failure records included) on stdout
    python -m ingest run SOURCE... (--out DIR | --opensearch-url URL [--auth …])
        index files, directories or s3://bucket/prefix into OpenSearch, or write the bulk bodies
        that would be sent as NDJSON files (`curl --data-binary @file URL/_bulk`)
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from .formats import FORMATS, key_info
from .pipeline import LocalFile, Options, S3Object, process_object


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    parse = commands.add_parser("parse", help="print one JSON document per log line")
    parse.add_argument("--format", required=True, choices=sorted(FORMATS))
    parse.add_argument("path", nargs="?", default="-", help="a plain or gzip file; - for stdin (default)")
    parse.add_argument("--include-raw", action="store_true", help="also keep each raw line in event.original")

    run = commands.add_parser("run", help="index log objects, or write the bulk bodies to files")
    run.add_argument("sources", nargs="+", help="files, directories, or s3://bucket[/prefix]")
    where = run.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", help="write bulk bodies as NDJSON files into this directory")
    where.add_argument("--opensearch-url", help="e.g. https://search-x.eu-west-1.es.amazonaws.com")
    run.add_argument("--auth", choices=["sigv4", "basic", "none"], default="none")
    run.add_argument("--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
    run.add_argument("--service", choices=["es", "aoss"], default="es")
    run.add_argument("--secret-id", help="Secrets Manager secret with username/password (--auth basic)")
    run.add_argument("--ca-certs", help="CA bundle for a cluster with a private certificate")
    run.add_argument("--dead-letter", help="directory, or s3://bucket/prefix/ (default: <out>/dead-letter or ./dead-letter)")
    run.add_argument("--format", default="auto", choices=["auto", *sorted(FORMATS)])
    run.add_argument("--include-raw", action="store_true")
    run.add_argument("--alb-index-prefix", default="alb-logs")
    run.add_argument("--s3-access-index-prefix", default="s3-access-logs")
    run.add_argument("--bulk-max-bytes", type=int, default=5 * 1024 * 1024)
    run.add_argument("--bulk-max-docs", type=int, default=5000)

    args = parser.parse_args(argv)
    if args.command == "parse":
        return _parse(args)
    return _run(args)


def _parse(args) -> int:
    from .bulk import BulkEncoder, encode_batches
    from .reader import TruncatedObject, line_batches

    if args.path == "-":
        stream, source = sys.stdin.buffer, "<stdin>"
    else:
        stream, source = open(args.path, "rb"), args.path
    encoder = BulkEncoder(FORMATS[args.format], source, key=key_info(source), include_raw=args.include_raw)
    out = sys.stdout.buffer
    try:
        for items, _ in encode_batches(encoder, line_batches(stream.read)):
            out.write(b"".join(item.body[item.body.index(b"\n") + 1:] for item in items))
    except TruncatedObject as e:
        print(f"{source}: {e}", file=sys.stderr)
        return 1
    finally:
        out.flush()
        if stream is not sys.stdin.buffer:
            stream.close()
    return 0


def _run(args) -> int:
    from .deadletter import DeadLetterWriter, LocalDeadLetterWriter

    s3 = None
    if any(s.startswith("s3://") for s in args.sources) or (args.dead_letter or "").startswith("s3://"):
        import boto3

        s3 = boto3.client("s3")
    if args.out:
        from .shipper import NdjsonFileSink

        sink = NdjsonFileSink(args.out, max_bytes=args.bulk_max_bytes, max_docs=args.bulk_max_docs)
    else:
        from .auth import build_auth
        from .shipper import OpenSearchSink

        auth = build_auth(args.auth, region=args.region, service=args.service, secret_id=args.secret_id)
        sink = OpenSearchSink(args.opensearch_url, auth, max_bytes=args.bulk_max_bytes,
                              max_docs=args.bulk_max_docs, ca_certs=args.ca_certs)
    dead_letter_target = args.dead_letter or str(Path(args.out or ".") / "dead-letter")
    if dead_letter_target.startswith("s3://"):
        bucket, _, prefix = dead_letter_target[5:].partition("/")
        dead_letter = DeadLetterWriter(s3, bucket, prefix)
    else:
        dead_letter = LocalDeadLetterWriter(dead_letter_target)
    options = Options(log_format=args.format, include_raw=args.include_raw,
                      index_prefixes={"alb": args.alb_index_prefix, "s3-access": args.s3_access_index_prefix},
                      bulk_max_bytes=args.bulk_max_bytes, bulk_max_docs=args.bulk_max_docs)

    objects = list(_objects(args.sources, s3))
    progress = _Progress(len(objects))
    totals = {"ok": 0, "failed": 0, "skipped": 0}
    try:
        for obj in objects:
            report = process_object(obj, sink, dead_letter, options)
            totals[report.status] += 1
            progress.update(report)
    finally:
        sink.close()
    progress.finish(totals)
    return 1 if totals["failed"] else 0


def _objects(sources: list[str], s3) -> Iterator:
    for source in sources:
        if source.startswith("s3://"):
            bucket, _, prefix = source[5:].partition("/")
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for entry in page.get("Contents", []):
                    if entry["Size"] and not entry["Key"].endswith("/"):
                        yield S3Object(s3, bucket, entry["Key"])
        elif os.path.isdir(source):
            root = Path(source)
            for path in sorted(p for p in root.rglob("*") if p.is_file()):
                yield LocalFile(str(path), path.relative_to(root).as_posix())
        else:
            yield LocalFile(source, source)


class _Progress:
    """One status line on stderr, redrawn in place on a terminal; one line per object otherwise."""

    def __init__(self, total: int):
        self.total, self.done = total, 0
        self.lines = self.indexed = self.failed = self.dead = 0
        self.started = time.monotonic()
        self.tty = sys.stderr.isatty()

    def update(self, report) -> None:
        self.done += 1
        self.lines += report.lines_read
        self.indexed += report.indexed
        self.failed += report.failed
        self.dead += report.dead_lettered
        rate = self.lines / max(time.monotonic() - self.started, 1e-9)
        width = 30
        filled = width * self.done // max(self.total, 1)
        bar = f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} objects, {self.lines:,} lines ({rate:,.0f}/s)"
        if self.tty:
            print("\r" + bar, end="", file=sys.stderr, flush=True)
        else:
            print(f"{bar}  {report.status} {report.uri}" + (f": {report.error}" if report.error else ""),
                  file=sys.stderr)
        if self.tty and report.status != "ok":
            print(f"\n{report.status}: {report.uri}: {report.error}", file=sys.stderr)

    def finish(self, totals: dict) -> None:
        seconds = time.monotonic() - self.started
        if self.tty:
            print(file=sys.stderr)
        print(f"{self.done} objects ({totals['ok']} ok, {totals['failed']} failed, {totals['skipped']} skipped); "
              f"{self.lines:,} lines: {self.indexed:,} documents, {self.failed:,} failure records, "
              f"{self.dead:,} dead-lettered; {seconds:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
