"""Command line: the same pipeline as the Lambda, over local files or s3:// URIs.

    python -m ingest parse --format alb|s3-access [PATH|-]
        one JSON document per input line (failure records included) on stdout
    python -m ingest run SOURCE... (--out DIR | --opensearch-url URL [--auth auto|sigv4|basic|none])
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

from .connection import AUTH_CHOICES
from .errors import UserError, run_main
from .formats import FORMATS, key_info
from .pipeline import LocalFile, Options, S3Object, process_object
from .reader import DEFAULT_MAX_LINE_BYTES

PROG = "python -m ingest"
DEFAULT_RETRY_FOR = 900.0  # 15 min: longer than a cluster's usual throttling burst


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Every option's default in --help, and the description as written."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0],
                                     epilog="Expected errors print one line; --debug or INGEST_DEBUG=1 shows "
                                            "the traceback.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    commands = parser.add_subparsers(dest="command", required=True)

    parse = commands.add_parser("parse", help="print one JSON document per log line", formatter_class=_HelpFormatter)
    parse.add_argument("--format", required=True, choices=sorted(FORMATS), help="log format")
    parse.add_argument("path", nargs="?", default="-", help="a plain or gzip file; - for stdin")
    parse.add_argument("--include-raw", action="store_true", help="also keep each raw line in event.original")
    _enrichment_options(parse)

    run = commands.add_parser(
        "run", help="index log objects, or write the bulk bodies to files", formatter_class=_HelpFormatter,
        description="Index files, directories or s3://bucket/prefix into OpenSearch, or write the bulk bodies.\n\n"
                    "--auth auto (the default, as in the Lambda and the bootstrap): sigv4 for an Amazon OpenSearch\n"
                    "endpoint (*.es.amazonaws.com, *.aoss.amazonaws.com, *.aos.<region>.on.aws; region and service\n"
                    "taken from the host), none for localhost/127.0.0.1/::1; for any other host choose --auth.")
    run.add_argument("sources", nargs="+", help="files, directories, or s3://bucket[/prefix]")
    where = run.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", help="write bulk bodies as NDJSON files into this directory")
    where.add_argument("--opensearch-url", help="e.g. https://search-x.eu-west-1.es.amazonaws.com")
    run.add_argument("--auth", choices=AUTH_CHOICES, default="auto", help="how to authenticate to --opensearch-url")
    run.add_argument("--region", help="SigV4 region (default: the endpoint's, else the profile's / $AWS_REGION)")
    run.add_argument("--service", choices=["es", "aoss"],
                     help="SigV4 service (default: aoss for *.aoss.amazonaws.com, else es)")
    run.add_argument("--secret-id", help="Secrets Manager secret with username/password (--auth basic)")
    run.add_argument("--ca-bundle", help="CA certificate file (PEM) for a cluster with a private CA; it is "
                                         "trusted instead of REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE")
    run.add_argument("--ca-certs", dest="ca_bundle", help=argparse.SUPPRESS)  # deprecated name of --ca-bundle
    run.add_argument("--dead-letter", help="directory, or s3://bucket/prefix/ (default: <out>/dead-letter or "
                                           "./dead-letter)")
    run.add_argument("--format", default="auto", choices=["auto", *sorted(FORMATS)], help="log format")
    run.add_argument("--include-raw", action="store_true", help="also keep each raw line in event.original")
    for name, fmt in FORMATS.items():  # --alb-index-prefix, --s3-access-index-prefix, …
        run.add_argument(f"--{name}-index-prefix", default=fmt.index_prefix, metavar="PREFIX",
                         help=f"daily index <prefix>-YYYY.MM.DD for {name}")
    run.add_argument("--bulk-max-bytes", type=int, default=5 * 1024 * 1024, help="uncompressed bytes per request")
    run.add_argument("--bulk-max-docs", type=int, default=5000, help="documents per request")
    run.add_argument("--compress-level", type=int, choices=range(10), default=1, metavar="0-9",
                     help="gzip level of the bulk requests: 0-3 igzip (fast), 4-9 zlib (smaller, slower)")
    run.add_argument("--send-threads", type=int, choices=(0, 1), default=None, metavar="0|1",
                     help="1: compress and send each bulk request on a background thread while the next is "
                          "parsed (the default); 0: one thread")
    run.add_argument("--retry-for", type=_seconds, default=DEFAULT_RETRY_FOR, metavar="SECONDS",
                     help="keep retrying (backoff with jitter, Retry-After honoured) while the cluster throttles "
                          "or cannot be reached, until nothing has been indexed for this long; then the run "
                          "stops")
    run.add_argument("--max-line-bytes", type=_positive_int, default=DEFAULT_MAX_LINE_BYTES,
                     help="a longer line is a failure record, kept whole in the dead letter")
    run.add_argument("--max-failure-share", type=_share, default=0.5,
                     help="an object with a larger share of lines that do not parse is flagged, and the exit "
                          "code is 1: most likely the wrong --format")
    _enrichment_options(run)
    return parser


def _enrichment_options(command: argparse.ArgumentParser) -> None:
    """GeoIP and user agents (ingest/enrich.py); off unless given, as GEOIP_CITY_DB, GEOIP_ASN_DB and
    USER_AGENT_PARSING in the Lambda."""
    group = command.add_argument_group("enrichment (docs/configuration.md)")
    group.add_argument("--geoip-city-db", metavar="PATH|s3://…", help="MaxMind-format City database (GeoLite2 "
                       "or DB-IP Lite City): source.geo.* for public client addresses")
    group.add_argument("--geoip-asn-db", metavar="PATH|s3://…", help="MaxMind-format ASN database: source.as.*")
    group.add_argument("--user-agents", action="store_true",
                       help="parse user agents: user_agent.name, version, os.*, device.name")


def _enricher(args, s3=None):
    from .enrich import from_settings

    return from_settings(args.geoip_city_db, args.geoip_asn_db, args.user_agents,
                         s3_client_factory=(lambda: s3) if s3 is not None else None)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _seconds(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more seconds, got {text}")
    return value


def _share(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be a share from 0 to 1, got {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_main(PROG, lambda: _parse(args) if args.command == "parse" else _run(args), debug=args.debug)


def _parse(args) -> int:
    from .bulk import BulkEncoder, encode_batches
    from .reader import TruncatedObject, line_batches

    enricher = _enricher(args)  # first: a database that cannot be read fails before any input is opened
    if args.path == "-":
        stream, source = sys.stdin.buffer, "<stdin>"
    else:
        stream, source = open(args.path, "rb"), args.path
    encoder = BulkEncoder(FORMATS[args.format], source, key=key_info(source), include_raw=args.include_raw,
                          enricher=enricher)
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

    _check_sources(args.sources)
    dead_letter_target = args.dead_letter or str(Path(args.out or ".") / "dead-letter")
    s3 = None
    if any(s.startswith("s3://") for s in args.sources) or dead_letter_target.startswith("s3://"):
        s3 = _s3_client()
    if args.out:
        from .shipper import NdjsonFileSink

        sink = NdjsonFileSink(args.out, max_bytes=args.bulk_max_bytes, max_docs=args.bulk_max_docs)
    else:
        from .auth import build_auth
        from .shipper import OpenSearchSink

        auth = build_auth(args.auth, url=args.opensearch_url, region=args.region, service=args.service,
                          secret_id=args.secret_id)
        sink = _StopOnRequestError(OpenSearchSink(args.opensearch_url, auth, max_bytes=args.bulk_max_bytes,
                                                  max_docs=args.bulk_max_docs, ca_certs=args.ca_bundle,
                                                  compress_level=args.compress_level,
                                                  retry_for=args.retry_for))
    if dead_letter_target.startswith("s3://"):
        bucket, prefix = _s3_location(dead_letter_target, "--dead-letter")
        dead_letter = DeadLetterWriter(s3, bucket, prefix)
    else:
        dead_letter = LocalDeadLetterWriter(dead_letter_target)
    options = Options(log_format=args.format, include_raw=args.include_raw,
                      index_prefixes={name: getattr(args, f"{name.replace('-', '_')}_index_prefix") for name in FORMATS},
                      bulk_max_bytes=args.bulk_max_bytes, bulk_max_docs=args.bulk_max_docs,
                      max_line_bytes=args.max_line_bytes, max_failure_share=args.max_failure_share,
                      send_threads=args.send_threads, enricher=_enricher(args, s3))

    objects = list(_objects(args.sources, s3))
    progress = _Progress(len(objects))
    totals = {"ok": 0, "failed": 0, "skipped": 0, "flagged": 0}
    retries = _show_retries(progress)
    try:
        for obj in objects:
            report = process_object(obj, sink, dead_letter, options)
            if isinstance(sink, _StopOnRequestError) and sink.error is not None:
                # Every further object would fail the same way (auth, TLS, wrong URL, a cluster that
                # cannot be reached): stop here, in one line.
                progress.abandon()
                raise UserError(_request_error_line(sink.error))
            totals[report.status] += 1
            totals["flagged"] += report.mostly_unparsed
            progress.update(report)
    finally:
        retries.close()
        sink.close()
    progress.finish(totals)
    return 1 if totals["failed"] or totals["flagged"] else 0


class _show_retries:
    """The shipper's retry warnings on stderr while a run goes on (attempt, wait, cause)."""

    def __init__(self, progress: "_Progress"):
        import logging

        class Handler(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                progress.note(record.getMessage())

        self._logger = logging.getLogger("ingest.shipper")
        self._handler = Handler(logging.WARNING)
        self._logger.addHandler(self._handler)
        self._propagate, self._logger.propagate = self._logger.propagate, False
        self._level = self._logger.level
        self._logger.setLevel(logging.WARNING)

    def close(self) -> None:
        self._logger.removeHandler(self._handler)
        self._logger.propagate = self._propagate
        self._logger.setLevel(self._level)


class _StopOnRequestError:
    """The sink, remembering a request error that retrying cannot fix (the pipeline only records it)."""

    def __init__(self, sink):
        self.sink = sink
        self.error = None

    def send(self, items, deadline):
        from .shipper import BulkRequestError, RetriesExhausted

        try:
            return self.sink.send(items, deadline)
        except BulkRequestError as error:
            self.error = error
            raise
        except RetriesExhausted as error:
            # Nothing indexed for --retry-for: the next objects would wait as long for nothing.
            self.error = error
            raise

    @property
    def stats(self):
        return self.sink.stats

    def cause(self):
        return self.sink.cause()

    def close(self) -> None:
        self.sink.close()


def _request_error_line(error) -> str:
    from .connection import is_tls_failure, tls_hint, tls_reason
    from .shipper import RetriesExhausted

    if isinstance(error, RetriesExhausted):
        from .shipper import duration

        return (f"gave up after {error.attempts} attempts, nothing indexed for {duration(error.seconds)} "
                f"(--retry-for): {error.last_failure}")
    if is_tls_failure(error):
        return f"TLS certificate of {error.url} not trusted ({tls_reason(error.detail)}); {tls_hint()}"
    if error.status in (401, 403):
        return (f"{error.url} refused the request: HTTP {error.status}: {error.detail}; check --auth "
                "(and --region/--service for sigv4, --secret-id for basic) and that this identity may write "
                "the log indices")
    return f"{error}; check --opensearch-url"


def _check_sources(sources: list[str]) -> None:
    for source in sources:
        if source.startswith("s3://"):
            _s3_location(source, "source")
        elif "://" in source:
            raise UserError(f"{source}: not a file, directory or s3:// URI; give a local path or "
                            "s3://bucket[/prefix]")
        elif not os.path.exists(source):
            raise UserError(f"{source}: no such file or directory; give a file, a directory or s3://bucket[/prefix]")


def _s3_location(uri: str, what: str) -> tuple[str, str]:
    bucket, _, prefix = uri[5:].partition("/")
    if not bucket:
        raise UserError(f"{what} {uri!r} names no bucket; write s3://bucket[/prefix]")
    return bucket, prefix


def _s3_client():
    import boto3

    session = boto3.Session()
    if session.get_credentials() is None:
        raise UserError("no AWS credentials found, and s3:// needs them; set AWS_PROFILE (or run `aws sso "
                        "login`), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    return session.client("s3")


def _objects(sources: list[str], s3) -> Iterator:
    for source in sources:
        if source.startswith("s3://"):
            bucket, prefix = _s3_location(source, "source")
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
        if report.warning:
            print(f"{chr(10) if self.tty else ''}warning: {report.uri}: {report.warning}", file=sys.stderr)

    def note(self, text: str) -> None:
        """A line said while an object is under way (e.g. a retry), below the status line."""
        print(f"{chr(10) if self.tty and self.done else ''}{PROG}: {text}", file=sys.stderr, flush=True)

    def abandon(self) -> None:
        if self.tty and self.done:
            print(file=sys.stderr)  # end the redrawn status line before an error line

    def finish(self, totals: dict) -> None:
        seconds = time.monotonic() - self.started
        if self.tty:
            print(file=sys.stderr)
        print(f"{self.done} objects ({totals['ok']} ok, {totals['failed']} failed, {totals['skipped']} skipped); "
              f"{self.lines:,} lines: {self.indexed:,} documents, {self.failed:,} failure records, "
              f"{self.dead:,} dead-lettered; {seconds:.1f} s", file=sys.stderr)
        if totals["flagged"]:
            print(f"warning: {totals['flagged']} object(s) had more than the --max-failure-share of their lines "
                  "fail to parse; check --format (exit code 1)", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
