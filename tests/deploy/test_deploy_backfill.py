"""scripts/backfill.py: choosing objects by date, queue messages the Lambda understands, resuming."""
from __future__ import annotations

import datetime as dt
import importlib.util
import io
import json
import sys
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from ingest.events import parse_event

REPO_ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("backfill_script", REPO_ROOT / "scripts" / "backfill.py")
backfill = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = backfill  # dataclasses look their module up while the class is built
spec.loader.exec_module(backfill)

REGION = "eu-west-1"
BUCKET = "access-log-archive"
ALB = "AWSLogs/123456789012/elasticloadbalancing/eu-west-1"
URL = "https://search-logs.eu-west-1.es.amazonaws.com"


def alb_key(day: str, n: int = 0) -> str:
    y, m, d = day.split("-")
    return (f"{ALB}/{y}/{m}/{d}/123456789012_elasticloadbalancing_eu-west-1_app.web.1234567890abcdef_"
            f"{y}{m}{d}T23{n:02d}Z_10.0.0.1_abc{n}.log.gz")


class SqsSpy:
    """A real (moto) SQS client that records SendMessageBatch calls."""

    def __init__(self, client):
        self.client = client
        self.batches: list[list[dict]] = []

    def send_message_batch(self, **kwargs):
        self.batches.append(kwargs["Entries"])
        return self.client.send_message_batch(**kwargs)


class Session:
    def __init__(self, sqs=None):
        self.region_name = REGION
        self.s3 = boto3.client("s3", region_name=REGION)
        self.sqs = sqs

    def client(self, name):
        return {"s3": self.s3, "sqs": self.sqs}[name]


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield s3


def put(s3, *keys: str) -> None:
    for key in keys:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"line\n")


def run(argv: list[str], session, cli_main=None, sleep=lambda s: None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = backfill.run(backfill.parse_args(argv), session, cli_main, out=out, err=err, sleep=sleep)
    return code, out.getvalue(), err.getvalue()


# ----------------------------------------------------------------------------- dates from keys

@pytest.mark.parametrize("key, expected", [
    (alb_key("2025-01-31"), dt.date(2025, 1, 31)),
    ("s3-access/2025-02-01-10-11-12-0123456789ABCDEF", dt.date(2025, 2, 1)),
    ("s3-access2025-02-01-10-11-12-0123456789ABCDEF", dt.date(2025, 2, 1)),  # prefix without "/" is glued on
    ("logs/123456789012/us-west-2/src-bucket/2023/03/01/2023-03-01-00-00-00-E568B2907131C0C0", dt.date(2023, 3, 1)),
    ("AWSLogs/123456789012/ELBAccessLogTestFile", None),
    ("notes/readme.txt", None),
    ("x/2025/13/01/file", None),  # not a real date
])
def test_date_is_read_from_alb_and_s3_access_log_keys(key, expected):
    assert backfill.key_date(key) == expected


def test_listing_keeps_only_objects_dated_within_the_inclusive_range(aws):
    inside = [alb_key("2025-01-01"), alb_key("2025-01-02", 1), alb_key("2025-01-03", 2),
              "s3/2025-01-02-05-00-00-ABCDEF0123456789"]
    outside = [alb_key("2024-12-31"), alb_key("2025-01-04"), "s3/2025-01-05-05-00-00-ABCDEF0123456789"]
    put(aws, *inside, *outside, "s3/undated.txt")
    skipped: dict[str, int] = {}
    found = backfill.list_objects(aws, BUCKET, ["AWSLogs/", "s3/"], dt.date(2025, 1, 1), dt.date(2025, 1, 3), skipped)
    assert sorted(o.key for o in found) == sorted(inside)
    assert skipped == {"no date in key": 1}


# ----------------------------------------------------------------------------- --to-queue

def test_queue_messages_are_s3_notifications_the_lambda_parses_back_to_the_same_objects(aws):
    keys = [alb_key("2025-01-01", n) for n in range(3)] + ["s3/odd name+plus 2025-01-01-00-00-00-ABC"]
    put(aws, *keys)
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.create_queue(QueueName="notifications")["QueueUrl"]
    code, _, _ = run(["--bucket", BUCKET, "--to-queue", queue, "--objects-per-message", "2",
                      "--state-file", "/dev/null"], Session(sqs))
    assert code == 0
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    bodies = [json.loads(m["Body"]) for m in messages]
    record = bodies[0]["Records"][0]
    assert record["eventSource"] == "aws:s3" and record["eventName"] == "ObjectCreated:Put"
    assert record["s3"]["bucket"]["name"] == BUCKET and record["s3"]["object"]["size"] == 5
    assert sorted(len(b["Records"]) for b in bodies) == [2, 2]
    encoded = [r["s3"]["object"]["key"] for b in bodies for r in b["Records"] if "odd" in r["s3"]["object"]["key"]]
    assert encoded == ["s3/odd+name%2Bplus+2025-01-01-00-00-00-ABC"]
    # The lead's event parser (what the Lambda runs) must read them back as the original keys.
    lambda_event = {"Records": [{"eventSource": "aws:sqs", "messageId": m["MessageId"], "body": m["Body"]}
                                for m in messages]}
    parsed = [obj.key for message in parse_event(lambda_event) for obj in message.objects]
    assert sorted(parsed) == sorted(keys)


def test_messages_are_sent_in_batches_of_ten(aws, tmp_path):
    put(aws, *[alb_key("2025-01-01", n) for n in range(23)])
    sqs = SqsSpy(boto3.client("sqs", region_name=REGION))
    queue = sqs.client.create_queue(QueueName="notifications")["QueueUrl"]
    run(["--bucket", BUCKET, "--to-queue", queue, "--state-file", str(tmp_path / "state")], Session(sqs))
    assert [len(batch) for batch in sqs.batches] == [10, 10, 3]
    assert all(len({e["Id"] for e in batch}) == len(batch) for batch in sqs.batches)


def test_rate_limiter_spaces_sends_to_the_requested_messages_per_second():
    clock = [0.0]
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        clock[0] += seconds

    limiter = backfill.RateLimiter(5, clock=lambda: clock[0], sleep=sleep)
    for batch in (10, 10, 3):
        limiter.acquire(batch)
    assert sum(slept) == pytest.approx(20 / 5)  # 20 messages went out before the last batch


def test_only_messages_sqs_accepted_are_recorded_and_rejected_ones_are_retried(aws, tmp_path):
    put(aws, *[alb_key("2025-01-01", n) for n in range(3)])

    class FlakySqs:
        calls = []

        def send_message_batch(self, QueueUrl, Entries):
            self.calls.append([e["Id"] for e in Entries])
            if len(self.calls) == 1:  # first try: SQS rejects one entry with a transient error
                return {"Successful": [{"Id": e["Id"]} for e in Entries[1:]],
                        "Failed": [{"Id": Entries[0]["Id"], "SenderFault": False, "Code": "InternalError"}]}
            return {"Successful": [{"Id": e["Id"]} for e in Entries]}

    state = tmp_path / "state.jsonl"
    code, _, _ = run(["--bucket", BUCKET, "--to-queue", "https://queue", "--state-file", str(state)],
                     Session(FlakySqs()))
    assert code == 0
    assert FlakySqs.calls == [["0", "1", "2"], ["0"]]
    assert len(state.read_text().splitlines()) == 3


# ----------------------------------------------------------------------------- --local and resuming

def test_local_mode_runs_the_ingest_cli_once_per_object_with_url_and_auth(aws, tmp_path):
    put(aws, alb_key("2025-01-01"))
    calls = []
    code, _, _ = run(["--bucket", BUCKET, "--local", "--opensearch-url", URL, "--auth", "sigv4",
                      "--state-file", str(tmp_path / "s"), "--", "--region", REGION],
                     Session(), cli_main=lambda argv: calls.append(argv) or 0)
    assert code == 0
    assert calls == [["run", "--opensearch-url", URL, "--auth", "sigv4", "--region", REGION,
                      f"s3://{BUCKET}/{alb_key('2025-01-01')}"]]


def test_rerun_skips_finished_objects_and_retries_only_the_failed_one(aws, tmp_path):
    keys = [alb_key("2025-01-01", n) for n in range(4)]
    put(aws, *keys)
    state = tmp_path / "state.jsonl"
    argv = ["--bucket", BUCKET, "--local", "--opensearch-url", URL, "--state-file", str(state)]
    first_run = []

    def fail_the_third(args):
        first_run.append(args[-1])
        return 1 if args[-1].endswith(keys[2]) else 0

    code, _, err = run(argv, Session(), cli_main=fail_the_third)
    assert code == 1 and f"failed: s3://{BUCKET}/{keys[2]}" in err
    assert len(first_run) == 4

    second_run = []
    code, _, _ = run(argv, Session(), cli_main=lambda args: second_run.append(args[-1]) or 0)
    assert code == 0 and second_run == [f"s3://{BUCKET}/{keys[2]}"]

    third_run = []
    run(argv, Session(), cli_main=lambda args: third_run.append(args[-1]) or 0)
    assert third_run == []

    restarted = []
    run([*argv, "--restart"], Session(), cli_main=lambda args: restarted.append(args[-1]) or 0)
    assert len(restarted) == 4


def test_a_torn_last_line_in_the_state_file_is_ignored(aws, tmp_path):
    keys = [alb_key("2025-01-01", n) for n in range(2)]
    put(aws, *keys)
    state = tmp_path / "state.jsonl"
    state.write_text(json.dumps({"bucket": BUCKET, "key": keys[0]}) + "\n" + '{"bucket": "access-log-archive", "ke')
    processed = []
    run(["--bucket", BUCKET, "--local", "--opensearch-url", URL, "--state-file", str(state)], Session(),
        cli_main=lambda args: processed.append(args[-1]) or 0)
    assert processed == [f"s3://{BUCKET}/{keys[1]}"]


def test_dry_run_lists_what_it_would_do_and_changes_nothing(aws, tmp_path):
    put(aws, alb_key("2025-01-01"), alb_key("2025-01-02"))
    state = tmp_path / "state.jsonl"
    code, out, err = run(["--bucket", BUCKET, "--from", "2025-01-02", "--local", "--opensearch-url", URL,
                          "--state-file", str(state), "--dry-run"], Session(),
                         cli_main=lambda args: pytest.fail("dry run ran ingest"))
    assert code == 0
    assert out.splitlines() == [f"would ingest run: s3://{BUCKET}/{alb_key('2025-01-02')} (5 bytes)"]
    assert "1 objects in range" in err
    assert not state.exists()


def test_progress_is_reported_on_stderr(aws, tmp_path):
    put(aws, *[alb_key("2025-01-01", n) for n in range(3)])
    _, out, err = run(["--bucket", BUCKET, "--local", "--opensearch-url", URL, "--state-file", str(tmp_path / "s")],
                      Session(), cli_main=lambda args: 0)
    assert out == ""
    assert "3/3 objects 100%" in err and "done: 3 of 3 objects" in err


# ----------------------------------------------------------------------------- defaults and one-line errors

def test_auth_defaults_to_auto_like_ingest_run_and_is_passed_on(aws, tmp_path):
    put(aws, alb_key("2025-01-01"))
    calls = []
    code, _, _ = run(["--bucket", BUCKET, "--local", "--opensearch-url", URL, "--state-file", str(tmp_path / "s")],
                     Session(), cli_main=lambda argv: calls.append(argv) or 0)
    assert code == 0
    assert calls[0][:5] == ["run", "--opensearch-url", URL, "--auth", "auto"]


def test_an_ingest_run_setup_error_stops_the_backfill_at_the_first_object(aws, tmp_path, capsys):
    put(aws, *(alb_key("2025-01-01", n) for n in range(3)))
    calls = []
    code = backfill.main(["--bucket", BUCKET, "--local", "--opensearch-url", URL, "--state-file", str(tmp_path / "s")],
                         session=Session(), cli_main=lambda argv: calls.append(argv) or 2)
    err = capsys.readouterr().err
    assert code == 2 and len(calls) == 1
    assert err.splitlines()[-1].startswith("backfill: error: stopped at s3://")


def test_an_unknown_profile_is_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    code = backfill.main(["--bucket", BUCKET, "--to-queue", "https://sqs.example/q", "--profile", "nope"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("backfill: error: ") and "nope" in err


def test_a_queue_that_does_not_exist_is_one_line_naming_the_call(aws, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    put(aws, alb_key("2025-01-01"))
    missing = f"https://sqs.{REGION}.amazonaws.com/123456789012/no-such-queue"
    code = backfill.main(["--bucket", BUCKET, "--to-queue", missing, "--state-file", str(tmp_path / "s")],
                         session=Session(sqs=boto3.client("sqs", region_name=REGION)))
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.splitlines()[-1].startswith("backfill: error: SendMessageBatch: ")
