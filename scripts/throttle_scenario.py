#!/usr/bin/env python3
"""The throttling scenario of issue 10, on loopback: a `_bulk` stand-in answering a share of items 429.

    .venv/bin/python scripts/throttle_scenario.py               # 20,000 lines in 4 objects; 70% and 95%
    .venv/bin/python scripts/throttle_scenario.py --lines 8000 --shares 0.7
    .venv/bin/python scripts/throttle_scenario.py --skip-cli --shares 0.95   # the 95% handler run alone

1. `python -m ingest run` (a subprocess, default --retry-for) of the objects at the first share: its exit code,
   time, and the documents the stand-in indexed.
2. The Lambda handler, in process, with moto S3 and SQS (the queue redrives to a DLQ after 5 receives, as
   the template's does): every invocation gets all visible messages and a 20 s context
   (TIME_MARGIN_SECONDS=2: the default 20 s would leave no time at all); messages it reports failed are
   made visible again at once, the others deleted, as the event source mapping does. For each share:
   invocations until the queue is empty, lines settled per invocation, unique _ids indexed, _ids indexed
   into two indices, messages in the DLQ.

Times are real (the stand-in answers as fast as it can, so the backoff waits set the pace). It needs the
dev dependencies (moto). Nothing leaves 127.0.0.1.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
BUCKET, DEAD_LETTER_BUCKET = "scenario-access-logs", "scenario-dead-letter"
START = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


def _script(name: str):
    spec = importlib.util.spec_from_file_location(f"scenario_{name}", REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


generate_logs = _script("generate_logs")
bulk_endpoint = _script("bulk_endpoint")


def objects(lines: int, count: int) -> dict[str, bytes]:
    """`count` S3 server access log objects of lines / count lines each, named as AWS names them."""
    rng = random.Random(10)
    per = lines // count
    result = {}
    for n in range(count):
        text = "".join(generate_logs.s3_line(rng, START + timedelta(seconds=n * per + i)) + "\n" for i in range(per))
        result[f"s3-logs/2026-11-25-12-{n:02d}-00-0123456789ABCDE{n:X}"] = text.encode()
    return result


def two_indices(endpoint) -> int:
    return sum(1 for indices in endpoint.indexed.values() if len(indices) > 1)


def cli_run(data: dict[str, bytes], share: float) -> None:
    with tempfile.TemporaryDirectory() as tmp, bulk_endpoint.BulkEndpoint(throttle_share=share, record=True) as endpoint:
        for key, body in data.items():
            (Path(tmp) / key.replace("/", "_")).write_bytes(body)
        started = time.monotonic()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env["PYTHONPATH"] = str(REPO)
        result = subprocess.run([sys.executable, "-m", "ingest", "run", tmp, "--opensearch-url", endpoint.url,
                                 "--dead-letter", str(Path(tmp) / "dead-letter")],
                                cwd=REPO, env=env, capture_output=True, text=True)
        seconds = time.monotonic() - started
        stats = endpoint.stats
        total = sum(body.count(b"\n") for body in data.values())
        print(f"CLI `ingest run` at {share:.0%} throttled: exit code {result.returncode} in {seconds:.1f} s; "
              f"{len(endpoint.indexed):,} unique _ids indexed of {total:,} "
              f"lines, {two_indices(endpoint)} in two indices; {stats.requests:,} requests, "
              f"{stats.throttled:,} items answered 429")
        print("   last line:", (result.stderr.strip().splitlines() or ["?"])[-1])


class Context:
    function_name = "throttle-scenario"

    def __init__(self, seconds: float):
        self.deadline = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self.deadline - time.monotonic()) * 1000)


def handler_runs(data: dict[str, bytes], share: float, max_invocations: int, context_seconds: float,
                 verbose: bool = False) -> None:
    import boto3
    from moto import mock_aws

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        os.environ[name] = value
    os.environ.pop("AWS_PROFILE", None)
    import ingest.handler as handler

    lines = sum(body.count(b"\n") for body in data.values())
    with mock_aws(), bulk_endpoint.BulkEndpoint(throttle_share=share, record=True) as endpoint:
        s3, sqs = boto3.client("s3"), boto3.client("sqs")
        s3.create_bucket(Bucket=BUCKET)
        s3.create_bucket(Bucket=DEAD_LETTER_BUCKET)
        dlq = sqs.create_queue(QueueName="scenario-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        queue = sqs.create_queue(QueueName="scenario", Attributes={"RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"})})["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        s3.put_bucket_notification_configuration(Bucket=BUCKET, NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}]})
        for key, body in data.items():
            s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        os.environ.update(OPENSEARCH_URL=endpoint.url, OPENSEARCH_AUTH="none", DEAD_LETTER_BUCKET=DEAD_LETTER_BUCKET,
                          TIME_MARGIN_SECONDS="2", METRICS_NAMESPACE="ThrottleScenario")
        handler._runtime = None
        per_invocation, statuses = [], []
        started = time.monotonic()
        for _ in range(max_invocations):
            records = []
            while True:
                got = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, AttributeNames=["All"])
                if not got.get("Messages"):
                    break
                records += [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                             "attributes": m.get("Attributes", {}), "messageAttributes": {}, "md5OfBody": m["MD5OfBody"],
                             "eventSource": "aws:sqs", "eventSourceARN": arn, "awsRegion": "us-east-1"}
                            for m in got["Messages"]]
            if not records:
                break
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                result = handler.lambda_handler({"Records": records}, Context(context_seconds))
            logs = [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]
            objects_logged = [log for log in logs if str(log.get("message", "")).startswith("object ")]
            per_invocation.append(sum(log["lines"] for log in objects_logged))
            statuses.append(sorted(log["status"] for log in objects_logged))
            for log in objects_logged:
                if verbose or log["status"] == "failed":
                    print(f"   invocation {len(statuses)}: {log['key'][-2:]} {log['status']} part {log.get('part')} "
                          f"lines {log['lines']} {log.get('start_line')}->{log.get('done_line')} in {log.get('seconds')} s"
                          f" ({log.get('backoff_seconds')} s backing off): {str(log.get('error', ''))[:160]}",
                          file=sys.stderr)
            failed = {f["itemIdentifier"] for f in result["batchItemFailures"]}
            for record in records:
                if record["messageId"] in failed:
                    sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=record["receiptHandle"],
                                                  VisibilityTimeout=0)
                else:
                    sqs.delete_message(QueueUrl=queue, ReceiptHandle=record["receiptHandle"])
        left = int(sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages"])
                   ["Attributes"]["ApproximateNumberOfMessages"])
        dead = int(sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["ApproximateNumberOfMessages"])
                   ["Attributes"]["ApproximateNumberOfMessages"])
        seconds = time.monotonic() - started
        print(f"handler at {share:.0%} throttled, {context_seconds:.0f} s context: {len(per_invocation)} invocations "
              f"({'queue empty' if not left else f'{left} messages still queued'}) in {seconds:.0f} s; "
              f"lines settled per invocation {per_invocation} (sum {sum(per_invocation):,} of {lines:,}); "
              f"{len(endpoint.indexed):,} unique _ids indexed, {two_indices(endpoint)} in two indices; "
              f"{dead} messages in the DLQ; {endpoint.stats.requests:,} requests, "
              f"{endpoint.stats.throttled:,} items answered 429")
        print(f"   object statuses per invocation: {statuses}")
        handler._runtime = None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--objects", type=int, default=4)
    parser.add_argument("--shares", type=float, nargs="+", default=[0.7, 0.95])
    parser.add_argument("--context-seconds", type=float, default=20)
    parser.add_argument("--max-invocations", type=int, default=15)
    parser.add_argument("--skip-cli", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="each object part's log line on stderr (failed ones always)")
    args = parser.parse_args(argv)
    data = objects(args.lines, args.objects)
    if not args.skip_cli:
        cli_run(data, args.shares[0])
    for share in args.shares:
        handler_runs(data, share, args.max_invocations, args.context_seconds, args.verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
