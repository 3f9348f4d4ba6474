#!/usr/bin/env python3
"""Load log files already in S3 (ALB and S3 server access logs) for a date range.

    # fan out through the deployed queue (Lambda does the work), 5 messages/s:
    python scripts/backfill.py --bucket my-logs --prefix AWSLogs/ --from 2025-01-01 --to 2025-01-31 \\
        --to-queue https://sqs.eu-west-1.amazonaws.com/123456789012/access-logs-NotificationQueue-abc --rate 5

    # or process here with the same pipeline as the Lambda:
    python scripts/backfill.py --bucket my-logs --prefix s3-access/ --from 2025-01-01 --to 2025-01-07 \\
        --local --opensearch-url https://search-logs.eu-west-1.es.amazonaws.com --auth sigv4

Dates come from the key: ALB keys (and date-partitioned S3 access log keys) have `/yyyy/mm/dd/` before the
file name; S3 access log names carry `YYYY-MM-DD-hh-mm-ss-` (log-formats.md §1.1, §3.3). ALB dates are
delivery dates. Keys with no date are skipped when a range is given, and counted.

Resumable: each finished object is appended to a state file, and a rerun skips those (--restart ignores
it). Re-sending an object is harmless anyway: documents have deterministic ids in daily indices, so it is
indexed over itself.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator
from urllib.parse import quote_plus

SQS_BATCH_LIMIT = 10
SEND_ATTEMPTS = 5
SETUP_ERROR_EXIT = 2  # `ingest run` exit code for a problem every object would hit (auth, TLS, bad arguments)

# `.../2025/01/31/<file>`: ALB (delivery date) and date-partitioned S3 access logs (event or delivery date).
PATH_DATE = re.compile(r"(?:^|/)(\d{4})/(\d{2})/(\d{2})/[^/]+$")
# `[prefix]2025-01-31-23-05-11-0123456789ABCDEF`: S3 access logs; the prefix may be glued on.
NAME_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})-\d{2}-\d{2}-\d{2}-[0-9A-Za-z]+$")


class BackfillError(Exception):
    """Cannot continue; the message says what to fix."""


@dataclass(frozen=True)
class LogObject:
    bucket: str
    key: str
    size: int

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def key_date(key: str) -> dt.date | None:
    for pattern in (PATH_DATE, NAME_DATE):
        match = pattern.search(key)
        if match:
            try:
                return dt.date(*(int(part) for part in match.groups()))
            except ValueError:
                return None  # looks like a date but is not one (e.g. month 13)
    return None


def list_objects(s3, bucket: str, prefixes: list[str], start: dt.date | None, end: dt.date | None,
                 skipped: dict[str, int]) -> Iterator[LogObject]:
    """Objects under `prefixes` whose key date is within [start, end] (inclusive), in key order."""
    paginator = s3.get_paginator("list_objects_v2")
    for prefix in prefixes:
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
            for entry in page.get("Contents", []):
                key = entry["Key"]
                if key.endswith("/") or entry.get("Size", 0) == 0:
                    skipped["empty or folder"] = skipped.get("empty or folder", 0) + 1
                    continue
                if start or end:
                    day = key_date(key)
                    if day is None:
                        skipped["no date in key"] = skipped.get("no date in key", 0) + 1
                        continue
                    if (start and day < start) or (end and day > end):
                        continue
                yield LogObject(bucket, key, entry["Size"])


def notification_body(objects: list[LogObject], region: str, now: str) -> str:
    """An S3 event notification as S3 itself would send it to the queue (keys form-URL-encoded)."""
    return json.dumps({"Records": [
        {
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": region,
            "eventTime": now,
            "eventName": "ObjectCreated:Put",
            "userIdentity": {"principalId": "backfill"},
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "backfill",
                "bucket": {"name": obj.bucket, "arn": f"arn:aws:s3:::{obj.bucket}"},
                "object": {"key": quote_plus(obj.key, safe="/"), "size": obj.size},
            },
        }
        for obj in objects
    ]}, separators=(",", ":"))


# ------------------------------------------------------------------ state file

class StateFile:
    """Append-only list of finished objects, one JSON line each; a torn last line (crash) is ignored."""

    def __init__(self, path: Path, restart: bool, dry_run: bool):
        self.path = path
        self.dry_run = dry_run
        self.done: set[tuple[str, str]] = set()
        if restart and path.exists() and not dry_run:
            path.unlink()
        elif path.exists() and not restart:
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    record = json.loads(line)
                    self.done.add((record["bucket"], record["key"]))
                except (ValueError, KeyError, TypeError):
                    continue

    def is_done(self, obj: LogObject) -> bool:
        return (obj.bucket, obj.key) in self.done

    def mark_done(self, objects: Iterable[LogObject]) -> None:
        objects = list(objects)
        if self.dry_run or not objects:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as handle:
            for obj in objects:
                handle.write(json.dumps({"bucket": obj.bucket, "key": obj.key}) + "\n")
                self.done.add((obj.bucket, obj.key))


def default_state_path(args: argparse.Namespace) -> Path:
    """One state file per scope (bucket, prefixes, range, mode), so unrelated backfills don't skip each other."""
    scope = json.dumps([args.bucket, sorted(args.prefix), str(args.start), str(args.end), args.to_queue or "local"])
    digest = hashlib.sha256(scope.encode()).hexdigest()[:12]
    return Path(".backfill") / f"{args.bucket}-{digest}.jsonl"


# ------------------------------------------------------------------ progress

class Progress:
    """A one-line progress bar on stderr (tqdm is not a dependency)."""

    def __init__(self, total: int, stream=sys.stderr, clock: Callable[[], float] = time.monotonic):
        self.total = total
        self.count = 0
        self.stream = stream
        self.clock = clock
        self.started = clock()
        self.interactive = hasattr(stream, "isatty") and stream.isatty()
        self._last_decile = -1

    def advance(self, n: int = 1) -> None:
        self.count += n
        percent = 100 * self.count // self.total if self.total else 100
        if self.interactive:
            self.stream.write("\r" + self.render())
            self.stream.flush()
        elif percent // 10 != self._last_decile:  # logs/CI: one line per 10 %
            self._last_decile = percent // 10
            self.stream.write(self.render() + "\n")

    def render(self) -> str:
        width = 30
        filled = width * self.count // self.total if self.total else width
        elapsed = max(self.clock() - self.started, 1e-9)
        rate = self.count / elapsed
        remaining = (self.total - self.count) / rate if rate > 0 else 0
        percent = 100 * self.count // self.total if self.total else 100
        return (f"[{'#' * filled}{'.' * (width - filled)}] {self.count}/{self.total} objects {percent}% "
                f"{rate:.1f}/s ETA {int(remaining) // 60}m{int(remaining) % 60:02d}s")

    def close(self) -> None:
        if self.interactive:
            self.stream.write("\n")


# ------------------------------------------------------------------ the two ways to process

class RateLimiter:
    """At most `rate` units per second, averaged from the start (sleep is injectable for tests)."""

    def __init__(self, rate: float, clock=time.monotonic, sleep=time.sleep):
        self.rate = rate
        self.clock = clock
        self.sleep = sleep
        self.started = clock()
        self.sent = 0

    def acquire(self, units: int) -> None:
        due = self.started + self.sent / self.rate
        wait = due - self.clock()
        if wait > 0:
            self.sleep(wait)
        self.sent += units


def send_to_queue(sqs, queue_url: str, pending: list[LogObject], per_message: int, limiter: RateLimiter,
                  region: str, state: StateFile, progress: Progress, sleep=time.sleep) -> list[str]:
    """SendMessageBatch in batches of 10; only what SQS accepted is marked done. Returns failures."""
    failures = []
    messages = [pending[i:i + per_message] for i in range(0, len(pending), per_message)]
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    for start in range(0, len(messages), SQS_BATCH_LIMIT):
        batch = {str(i): objects for i, objects in enumerate(messages[start:start + SQS_BATCH_LIMIT])}
        limiter.acquire(len(batch))
        outstanding = dict(batch)
        for attempt in range(SEND_ATTEMPTS):
            response = sqs.send_message_batch(QueueUrl=queue_url, Entries=[
                {"Id": entry_id, "MessageBody": notification_body(objects, region, now)}
                for entry_id, objects in outstanding.items()
            ])
            for ok in response.get("Successful", []):
                objects = outstanding.pop(ok["Id"])
                state.mark_done(objects)
                progress.advance(len(objects))
            failed = {f["Id"]: f for f in response.get("Failed", [])}
            if not outstanding:
                break
            if attempt == SEND_ATTEMPTS - 1 or any(f.get("SenderFault") for f in failed.values()):
                for entry_id, objects in outstanding.items():
                    reason = failed.get(entry_id, {})
                    failures += [f"{obj.uri}: SQS {reason.get('Code', '?')}: {reason.get('Message', '')}"
                                 for obj in objects]
                break
            sleep(min(2 ** attempt * 0.5, 10))  # SQS-side (throttling/internal) failures are transient
    return failures


def process_locally(cli_main: Callable[[list[str]], int], pending: list[LogObject], cli_args: list[str],
                    state: StateFile, progress: Progress) -> list[str]:
    """One `ingest run` per object, so a failure pins down exactly which object to retry."""
    failures = []
    for position, obj in enumerate(pending):
        try:
            code = cli_main(["run", *cli_args, obj.uri])
        except Exception as error:  # keep going: the rest of the backfill is independent
            code = f"{type(error).__name__}: {error}"
        if code == SETUP_ERROR_EXIT:
            # ingest run printed why (one line); the same would happen for every remaining object.
            raise BackfillError(f"stopped at {obj.uri}: `ingest run` refused to start (see the error above); fix "
                                f"that and rerun: the {len(pending) - position} objects not done yet are picked up "
                                "then")
        if code == 0:
            state.mark_done([obj])
        else:
            failures.append(f"{obj.uri}: ingest run returned {code}")
        progress.advance()
    return failures


# ------------------------------------------------------------------ command line

def parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = []
    if "--" in argv:
        split = argv.index("--")
        argv, extra = argv[:split], argv[split + 1:]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                                     epilog="Arguments after `--` are passed on to `ingest run` with --local. "
                                            "Expected errors print one line; INGEST_DEBUG=1 shows the traceback.")
    parser.add_argument("--bucket", required=True, help="the log bucket")
    parser.add_argument("--prefix", action="append", default=[],
                        help="key prefix to list (repeatable; default: the whole bucket)")
    parser.add_argument("--from", dest="start", type=parse_date, help="first day, inclusive (UTC, from the key)")
    parser.add_argument("--to", dest="end", type=parse_date, help="last day, inclusive")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--to-queue", metavar="QUEUE_URL", help="send S3-notification messages to this SQS queue")
    mode.add_argument("--local", action="store_true", help="process here with `ingest run`")
    parser.add_argument("--rate", type=float, default=10.0, help="--to-queue: messages per second")
    parser.add_argument("--objects-per-message", type=int, default=1,
                        help="--to-queue: objects per message (1: a failure retries only that object)")
    parser.add_argument("--opensearch-url", help="--local: the cluster URL")
    parser.add_argument("--auth", choices=["auto", "sigv4", "basic", "none"], default="auto",
                        help="--local: as `ingest run --auth` (auto: sigv4 for an Amazon OpenSearch endpoint, none "
                             "for localhost, otherwise choose)")
    parser.add_argument("--region", help="default: the profile's / $AWS_REGION")
    parser.add_argument("--profile")
    parser.add_argument("--state-file", type=Path, help="default: .backfill/<bucket>-<hash of the scope>.jsonl")
    parser.add_argument("--restart", action="store_true", help="ignore (and reset) the state file")
    parser.add_argument("--dry-run", action="store_true", help="list what would be sent/processed; change nothing")
    args = parser.parse_args(argv)
    args.extra = extra
    args.prefix = args.prefix or [""]
    if args.start and args.end and args.start > args.end:
        parser.error(f"--from {args.start} is after --to {args.end}")
    if args.local and not args.opensearch_url:
        parser.error("--local needs --opensearch-url")
    if args.rate <= 0:
        parser.error("--rate must be positive")
    if not 1 <= args.objects_per_message <= 100:
        parser.error("--objects-per-message must be between 1 and 100")
    return args


def run(args: argparse.Namespace, session, cli_main: Callable[[list[str]], int] | None = None,
        out=sys.stdout, err=sys.stderr, sleep=time.sleep) -> int:
    s3 = session.client("s3")
    skipped: dict[str, int] = {}
    state = StateFile(args.state_file or default_state_path(args), args.restart, args.dry_run)
    try:
        listed = list(list_objects(s3, args.bucket, args.prefix, args.start, args.end, skipped))
    except Exception as error:  # botocore ClientError/NoCredentialsError: the API's message says why
        raise BackfillError(f"cannot list s3://{args.bucket}/ under {args.prefix}: {error}") from None
    pending = [obj for obj in listed if not state.is_done(obj)]
    already = len(listed) - len(pending)
    summary = (f"{len(listed)} objects in range ({sum(o.size for o in listed):,} bytes), {already} already done, "
               f"{len(pending)} to do" + "".join(f", {n} skipped ({why})" for why, n in sorted(skipped.items())))
    print(summary, file=err)
    if args.dry_run:
        action = f"send to {args.to_queue}" if args.to_queue else "ingest run"
        for obj in pending:
            print(f"would {action}: {obj.uri} ({obj.size:,} bytes)", file=out)
        return 0
    if not pending:
        return 0
    progress = Progress(len(pending), stream=err)
    if args.to_queue:
        region = session.region_name or "us-east-1"
        limiter = RateLimiter(args.rate, sleep=sleep)
        failures = send_to_queue(session.client("sqs"), args.to_queue, pending, args.objects_per_message,
                                 limiter, region, state, progress, sleep=sleep)
    else:
        if cli_main is None:
            sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
            from ingest.cli import main as cli_main
        cli_args = ["--opensearch-url", args.opensearch_url, "--auth", args.auth, *args.extra]
        failures = process_locally(cli_main, pending, cli_args, state, progress)
    progress.close()
    for failure in failures:
        print(f"failed: {failure}", file=err)
    print(f"done: {len(pending) - len(failures)} of {len(pending)} objects"
          + (f"; {len(failures)} failed, rerun to retry them (state: {state.path})" if failures else ""), file=err)
    return 1 if failures else 0


def main(argv: list[str] | None = None, session=None, cli_main=None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from ingest.errors import run_main  # AWS errors (unknown profile, AccessDenied, no such queue) in one line

    return run_main("backfill", lambda: _main(args, session, cli_main))


def _main(args: argparse.Namespace, session, cli_main) -> int:
    if session is None:
        import boto3
        session = boto3.Session(profile_name=args.profile, region_name=args.region)
        if session.get_credentials() is None:
            print("backfill: error: no AWS credentials found (set AWS_PROFILE / --profile or AWS_ACCESS_KEY_ID)",
                  file=sys.stderr)
            return 2
    try:
        return run(args, session, cli_main)
    except BackfillError as error:
        print(f"backfill: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
