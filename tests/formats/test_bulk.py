"""BulkEncoder: every line becomes one bulk item, a document or a failure record, idempotently."""
from __future__ import annotations

import gzip
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import ingest.bulk as bulk_module
from ingest.bulk import MAX_WAITING_FAILURES, UNDATED, BulkEncoder, encode_batches
from ingest.formats import ALB, FORMATS, KeyInfo, key_info
from ingest.reader import OverlongLine, TruncatedObject

S3 = FORMATS["s3-access"]
REPO = Path(__file__).resolve().parents[2]
ALB_KEY = ("AWSLogs/123456789012/elasticloadbalancing/us-east-2/2022/05/01/123456789012_elasticloadbalancing_"
           "us-east-2_app.my-loadbalancer.1234567890abcdef_20220215T2340Z_172.160.001.192_20sg8hgm.log.gz")


def encoder(fmt=ALB, source="s3://logs/" + ALB_KEY, key=None, **kwargs) -> BulkEncoder:
    key = key_info(source) if key is None else key
    return BulkEncoder(fmt, source, key=key, **kwargs)


def bodies(enc: BulkEncoder, lines: list[bytes], first: int = 1) -> list[tuple[dict, dict]]:
    """(action, document) of each item, the object ending after `lines`, after checking each body is
    exactly two JSON lines."""
    items, _ = enc.encode(lines, first)
    items += enc.finish()
    out = []
    for item in items:
        action_line, source_line, end = item.body.split(b"\n")
        assert end == b""
        out.append((json.loads(action_line), json.loads(source_line)))
    return out


def alb_parsed(line: str) -> dict:
    return json.loads("{" + ALB.to_json(line)[1] + "}")


def test_a_document_item_is_an_index_action_into_the_daily_index_of_its_event_time(alb_examples):
    [(action, doc)] = bodies(encoder(), [alb_examples["http"].encode()])
    assert list(action) == ["index"]  # `index`, not `create`: a retry overwrites
    assert action["index"]["_index"] == "alb-logs-2018.07.02"  # the line's day, not the key's 2022
    assert re.fullmatch(r"[0-9a-f]{32}", action["index"]["_id"])
    assert doc["@timestamp"] == "2018-07-02T22:23:00.186641Z"


def test_the_whole_document_carries_dataset_file_and_cloud(alb_examples):
    [(_, doc)] = bodies(encoder(), [alb_examples["lambda_ok"].encode()], first=7)
    assert doc["event"] == {"dataset": "aws.elb"}
    assert doc["log"] == {"file": {"path": "s3://logs/" + ALB_KEY, "line_number": 7}}
    assert doc["cloud"] == {"provider": "aws", "account": {"id": "123456789012"}, "region": "us-east-2"}
    assert doc == {**alb_parsed(alb_examples["lambda_ok"]), "event": doc["event"], "log": doc["log"], "cloud": doc["cloud"]}


def test_without_account_or_region_in_the_key_there_is_no_cloud(alb_examples):
    [(_, doc)] = bodies(encoder(source="/tmp/local.log"), [alb_examples["http"].encode()])
    assert "cloud" not in doc


def test_s3_documents_go_to_the_utc_day_of_their_time(s3_examples):
    line = s3_examples["2023_put_object"].replace("[06/Feb/2019:00:01:57 +0000]", "[06/Feb/2019:00:30:00 +0100]")
    [(action, doc)] = bodies(encoder(S3, "s3://b/logs/2019-02-06-00-00-00-ABCDEF0123456789"), [line.encode()])
    assert action["index"]["_index"] == "s3-access-logs-2019.02.05"
    assert doc["event"]["dataset"] == "aws.s3access"


def test_a_custom_index_prefix_is_used(alb_examples):
    [(action, _)] = bodies(encoder(index_prefix="prod-alb"), [alb_examples["http"].encode()])
    assert action["index"]["_index"] == "prod-alb-2018.07.02"


def test_the_same_line_gets_the_same_id_wherever_and_whenever_it_is_encoded(alb_examples):
    line = alb_examples["http"].encode()
    [(first, _)] = bodies(encoder(), [line], first=1)
    [(again, _)] = bodies(encoder(source="s3://other/copy.log"), [line], first=99)
    assert first["index"]["_id"] == again["index"]["_id"]


def test_different_lines_get_different_ids(alb_examples):
    lines = [line.encode() for line in alb_examples.values()]
    ids = {action["index"]["_id"] for action, _ in bodies(encoder(), lines)}
    assert len(ids) == len(lines)
    one_byte_changed = alb_examples["http"].replace("366", "367").encode()
    [(a, _), (b, _)] = bodies(encoder(), [alb_examples["http"].encode(), one_byte_changed])
    assert a["index"]["_id"] != b["index"]["_id"]


def test_a_line_that_does_not_parse_becomes_a_failure_record_with_the_raw_line_and_why():
    enc = encoder()
    items, failures = enc.encode([b"this is not an ALB line"], 42)
    assert failures == 1
    action, doc = (json.loads(x) for x in items[0].body.splitlines())
    assert action["index"]["_index"] == "alb-logs-2022.02.15"  # the time the key names
    assert doc == {
        "@timestamp": "2022-02-15T23:40:00Z",
        "event": {"dataset": "aws.elb", "original": "this is not an ALB line"},
        "error": {"type": "parse_error", "message": "expected at least 12 fields, found 6"},
        "tags": ["parse_failure"],
        "cloud": {"provider": "aws", "account": {"id": "123456789012"}, "region": "us-east-2"},
        "log": {"file": {"path": "s3://logs/" + ALB_KEY, "line_number": 42}},
    }
    assert (items[0].line_number, items[0].raw) == (42, b"this is not an ALB line")


def test_failure_record_ids_are_deterministic_per_object_and_line():
    def failure_id(source, n):
        [(action, _)] = bodies(encoder(source=source), [b"garbage"], first=n)
        return action["index"]["_id"]
    assert failure_id("/tmp/a.log", 3) == failure_id("/tmp/a.log", 3)
    assert failure_id("/tmp/a.log", 3) != failure_id("/tmp/a.log", 4)
    assert failure_id("/tmp/a.log", 3) != failure_id("/tmp/b.log", 3)


def test_include_raw_keeps_the_raw_line_in_event_original(alb_examples):
    line = alb_examples["http"]
    [(_, with_raw)] = bodies(encoder(include_raw=True), [line.encode()])
    [(_, without)] = bodies(encoder(), [line.encode()])
    assert with_raw["event"] == {"dataset": "aws.elb", "original": line}
    assert without["event"] == {"dataset": "aws.elb"}


def test_non_utf8_bytes_are_kept_backslash_escaped_not_lost(alb_examples):
    line = alb_examples["http"].replace("curl/7.46.0", "curl/\xff").encode("latin-1")
    [(_, doc)] = bodies(encoder(include_raw=True), [line])
    assert doc["user_agent"]["original"] == "curl/\\xff"
    assert "\\xff" in doc["event"]["original"]
    [(_, failure)] = bodies(encoder(), [b"\xfe\xff garbage \x00"])
    assert failure["event"]["original"] == "\\xfe\\xff garbage \x00"
    assert failure["tags"] == ["parse_failure"]


def test_empty_lines_are_skipped_but_counted_in_line_numbers(alb_examples):
    line = alb_examples["http"].encode()
    out = bodies(encoder(), [line, b"", line, b""], first=10)
    assert [doc["log"]["file"]["line_number"] for _, doc in out] == [10, 12]


def test_each_item_knows_its_line_number_and_raw_line(alb_examples):
    items, failures = encoder().encode([alb_examples["http"].encode(), b"bad"], 1)
    assert [(i.line_number, i.raw) for i in items] == [(1, alb_examples["http"].encode()), (2, b"bad")]
    assert failures == 1


def test_a_batch_declared_json_safe_is_encoded_like_one_checked_line_by_line(alb_examples):
    lines = [line.encode() for line in alb_examples.values()]
    checked, _ = encoder().encode(lines, 1)
    trusted, _ = encoder().encode(lines, 1, batch_is_json_safe=True)
    assert [i.body for i in checked] == [i.body for i in trusted]


def test_the_cli_prints_one_json_document_per_line_including_failures(tmp_path, alb_examples):
    path = tmp_path / "sample.log.gz"  # gzip, recognised by content
    lines = [alb_examples["http"], "broken line", alb_examples["ws"]]
    path.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    run = subprocess.run([sys.executable, "-m", "ingest", "parse", "--format", "alb", str(path)],
                         cwd=REPO, capture_output=True, check=True)
    docs = [json.loads(line) for line in run.stdout.decode().splitlines()]
    assert [d["log"]["file"]["line_number"] for d in docs] == [1, 2, 3]
    assert docs[0]["aws"]["elb"]["type"] == "http"
    assert docs[1]["tags"] == ["parse_failure"]
    assert docs[2]["aws"]["elb"]["type"] == "ws"


def test_key_info_default_is_no_cloud_and_no_time_for_failures():
    enc = BulkEncoder(ALB, "x")
    [(_, doc)] = bodies(enc, [b"bad"])
    assert "cloud" not in doc and doc["@timestamp"] == UNDATED


@pytest.mark.parametrize("key", [KeyInfo(account="123456789012"), KeyInfo(region="eu-west-1")])
def test_cloud_holds_only_what_the_key_names(alb_examples, key):
    [(_, doc)] = bodies(encoder(key=key), [alb_examples["http"].encode()])
    expected = {"provider": "aws"}
    if key.account:
        expected["account"] = {"id": key.account}
    if key.region:
        expected["region"] = key.region
    assert doc["cloud"] == expected


def test_every_line_the_log_generator_writes_parses_without_failures(tmp_path):
    # The generator writes the variety real traffic shows (IPv6, Lambda, WAF, OAI requesters, old and
    # new field counts); none of it may end up as a failure record.
    subprocess.run([sys.executable, "scripts/generate_logs.py", "--out", str(tmp_path), "--alb-lines", "3000",
                    "--s3-lines", "3000", "--seed", "11"], cwd=REPO, check=True, capture_output=True)
    from ingest.formats import detect
    from ingest.reader import line_batches

    counted = {"alb": 0, "s3-access": 0}
    for path in sorted(p for p in tmp_path.rglob("*") if p.is_file()):
        key = str(path.relative_to(tmp_path))
        with path.open("rb") as stream:
            enc = None
            n = 1
            for lines, safe in line_batches(stream.read):
                if enc is None:
                    fmt = detect(key, lines[0].decode())
                    enc = BulkEncoder(fmt, key, key=key_info(key))
                items, failures = enc.encode(lines, n, safe)
                assert failures == 0, [i.raw for i in items if b"parse_failure" in i.body][:3]
                n += len(lines)
                counted[fmt.name] += len(items)
    assert counted == {"alb": 3000, "s3-access": 3000}


# -- the time of failure records: from the object alone ---------------------------------------------


def alb_line_at(alb_examples, moment: str) -> bytes:
    return re.sub(r"^(\S+) \S+", rf"\1 {moment}", alb_examples["http"]).encode()


def failure_times(items) -> dict[int, tuple[str, str]]:
    """line number → (index, @timestamp) of each failure record."""
    out = {}
    for item in items:
        if item.failure:
            action, doc = (json.loads(x) for x in item.body.splitlines())
            out[item.line_number] = (action["index"]["_index"], doc["@timestamp"])
    return out


def encode_object(enc: BulkEncoder, lines: list[bytes], batch_size: int) -> list:
    batches = [(lines[i:i + batch_size], False) for i in range(0, len(lines), batch_size)]
    return [item for items, _ in encode_batches(enc, batches) for item in items]


def test_a_failure_record_without_a_time_in_the_key_takes_the_time_of_the_document_before_it(alb_examples):
    lines = [alb_line_at(alb_examples, "2026-11-24T23:59:59.000000Z"), b"garbage",
             alb_line_at(alb_examples, "2026-11-25T00:00:01.000000Z"), b"more garbage"]
    items = encode_object(encoder(source="/tmp/x.log"), lines, 10)
    assert failure_times(items) == {2: ("alb-logs-2026.11.24", "2026-11-24T23:59:59.000000Z"),
                                    4: ("alb-logs-2026.11.25", "2026-11-25T00:00:01.000000Z")}


def test_failure_records_before_the_first_document_take_its_time(alb_examples):
    lines = [b"garbage 1", b"", b"garbage 2", alb_line_at(alb_examples, "2026-11-20T08:00:00.000000Z")]
    items = encode_object(encoder(source="/tmp/x.log"), lines, 1)
    assert failure_times(items) == {1: ("alb-logs-2026.11.20", "2026-11-20T08:00:00.000000Z"),
                                    3: ("alb-logs-2026.11.20", "2026-11-20T08:00:00.000000Z")}


def test_failure_records_of_an_object_without_any_time_are_undated_never_dated_by_a_clock():
    items = encode_object(encoder(source="/tmp/x.log"), [b"garbage 1", b"garbage 2"], 1)
    assert set(failure_times(items).values()) == {("alb-logs-1970.01.01", UNDATED)}


def test_the_time_the_key_names_wins_over_the_documents_around(alb_examples):
    lines = [alb_line_at(alb_examples, "2026-11-20T08:00:00.000000Z"), b"garbage"]
    items = encode_object(encoder(), lines, 10)
    assert failure_times(items) == {2: ("alb-logs-2022.02.15", "2022-02-15T23:40:00Z")}


@pytest.mark.parametrize("native", [True, False])
def test_failure_records_get_the_same_index_and_id_however_the_object_is_cut_into_batches(alb_examples, native):
    rng = __import__("random").Random(5)
    lines = []
    for n in range(400):
        if rng.random() < 0.4:
            lines.append(b"garbage %d" % n)
        else:
            lines.append(alb_line_at(alb_examples, f"2026-11-{1 + n // 20:02d}T10:00:00.000000Z"))
    lines[:30] = [b"leading garbage %d" % n for n in range(30)]

    def outcome(batch_size):
        items = encode_object(encoder(source="/tmp/x.log", native=native), lines, batch_size)
        return sorted(item.body for item in items)

    assert outcome(1) == outcome(7) == outcome(400)


def test_failure_records_waiting_for_a_document_are_bounded_and_then_undated(alb_examples, monkeypatch):
    import ingest.bulk as bulk

    monkeypatch.setattr(bulk, "MAX_WAITING_FAILURES", 5)
    lines = [b"garbage %d" % n for n in range(12)] + [alb_line_at(alb_examples, "2026-11-20T08:00:00.000000Z")]
    enc = encoder(source="/tmp/x.log")
    items, _ = enc.encode(lines, 1)
    times = failure_times(items + enc.finish())
    assert [times[n][1] for n in range(1, 13)] == [UNDATED] * 10 + ["2026-11-20T08:00:00.000000Z"] * 2
    assert len(enc._waiting) == 0
    assert MAX_WAITING_FAILURES >= 1000  # the real bound leaves room for a long damaged head


# -- ids never change between versions (a changed id would double every document on re-ingest) --------


@pytest.mark.parametrize("native", [True, False], ids=["accelerator", "python"])
def test_a_document_id_is_the_128_bit_blake2b_of_the_raw_line_on_both_paths(alb_examples, native):
    [(action, _)] = bodies(encoder(native=native), [alb_examples["http"].encode()])
    assert action == {"index": {"_index": "alb-logs-2018.07.02", "_id": "9180bef167a5e85a366133862f576d13"}}


def test_a_failure_record_id_is_the_blake2b_of_source_line_number_and_raw_line():
    [(action, _)] = bodies(encoder(source="/tmp/x.log"), [b"garbage"], first=3)
    assert action == {"index": {"_index": "alb-logs-1970.01.01", "_id": "b67aceaefc8ff4c218c1c7717ae24105"}}


@pytest.mark.parametrize("native", [True, False], ids=["accelerator", "python"])
def test_each_item_knows_its_line_number_and_raw_line_on_both_paths(alb_examples, native):
    line = alb_examples["http"].encode()
    items, _ = encoder(native=native).encode([line, b"", b"bad", line], 5)
    assert [(i.line_number, i.raw, i.failure) for i in items] == [(5, line, False), (7, b"bad", True), (8, line, False)]


# -- failure counts -------------------------------------------------------------------------------------


def test_encode_counts_the_failure_records_of_each_batch_alone(alb_examples):
    enc = encoder()
    line = alb_examples["http"].encode()
    assert enc.encode([b"bad 1", b"bad 2", line], 1)[1] == 2
    assert enc.encode([line, b"bad 3", b"bad 4", b"bad 5"], 4)[1] == 3
    assert enc.encode([line], 8)[1] == 0


def test_failure_records_released_from_waiting_keep_their_raw_line_and_count_in_the_batch_that_releases_them(
        alb_examples):
    enc = encoder(source="/tmp/x.log")  # no time in the key: failures wait for the first document
    assert enc.encode([b"bad 1", b"bad 2"], 1) == ([], 0)
    items, failures = enc.encode([alb_line_at(alb_examples, "2026-11-20T08:00:00.000000Z")], 3)
    assert failures == 2
    assert sorted((i.line_number, i.raw) for i in items if i.failure) == [(1, b"bad 1"), (2, b"bad 2")]


# -- which parser path a line takes ----------------------------------------------------------------------


class SpyFormat:
    """A format that delegates to another and records the `safe` flag of each line it is asked to parse."""

    def __init__(self, fmt, name: str):
        self.fmt, self.name, self.calls = fmt, name, []
        self.dataset, self.index_prefix = fmt.dataset, fmt.index_prefix

    def to_json(self, line: str, safe: bool = False):
        self.calls.append((line, safe))
        return self.fmt.to_json(line, safe)


def test_a_line_takes_the_fast_parser_path_when_its_batch_or_the_line_itself_is_json_safe(alb_examples):
    spy = SpyFormat(ALB, "spy")  # not a format the accelerator knows: every line takes the Python path
    safe_line = alb_examples["http"]
    unsafe_line = safe_line.replace("curl/7.46.0", "curl\\7.46.0")
    enc = BulkEncoder(spy, "/tmp/x.log")
    enc.encode([safe_line.encode(), unsafe_line.encode()], 1)
    enc.encode([safe_line.encode()], 3, batch_is_json_safe=True)
    enc.encode([safe_line.encode()], 4)  # the flag defaults to "not vouched for": each line is checked
    enc.encode([safe_line.encode("latin-1").replace(b"curl", b"\xffurl")], 5)  # not UTF-8: never fast
    assert [safe for _, safe in spy.calls] == [True, False, True, True, False]


def test_a_batch_not_declared_json_safe_is_checked_line_by_line_so_a_backslash_is_escaped(alb_examples):
    line = alb_examples["http"].replace("curl/7.46.0", 'curl\\"7.46.0').encode()
    for native in (True, False):
        [(_, doc)] = bodies(encoder(native=native), [line])
        assert doc["user_agent"]["original"] == 'curl\\"7.46.0'


@pytest.mark.skipif(bulk_module._native is None, reason="ingest/_native.c is not built (make builds it)")
def test_lines_the_accelerator_declines_take_the_python_path_with_the_batch_flag_and_the_same_id(alb_examples):
    spy = SpyFormat(ALB, "alb")  # named alb: the accelerator takes the lines it can
    taken = alb_examples["http"]
    non_ascii = taken.replace("curl/7.46.0", "cürl/7.46.0")
    escaped = taken.replace("curl/7.46.0", "curl\\7.46.0")  # vouched for anyway: the flag is what counts
    lines = [taken, non_ascii, escaped]
    enc = BulkEncoder(spy, "/tmp/x.log")
    items, _ = enc.encode((line.encode() for line in lines), 1, batch_is_json_safe=True)
    assert spy.calls == [(non_ascii, True), (escaped, True)]  # a generator of lines works too
    python = BulkEncoder(ALB, "/tmp/x.log", native=False).encode([line.encode() for line in lines], 1, True)[0]
    assert [i.body for i in items] == [i.body for i in python]


@pytest.mark.skipif(bulk_module._native is None, reason="ingest/_native.c is not built (make builds it)")
def test_native_false_sends_every_line_through_the_python_parser(alb_examples):
    spy = SpyFormat(ALB, "alb")
    BulkEncoder(spy, "/tmp/x.log", native=False).encode([alb_examples["http"].encode()], 1)
    assert len(spy.calls) == 1
    spy = SpyFormat(ALB, "alb")
    BulkEncoder(spy, "/tmp/x.log").encode((alb_examples["http"].encode(),), 1)  # a tuple of lines too
    assert spy.calls == []


# -- overlong lines and encode_batches ---------------------------------------------------------------------


def overlong(data: bytes, limit: int = 100) -> OverlongLine:
    line = OverlongLine(limit)
    line.feed(data)
    return line.end()


def test_an_overlong_line_becomes_a_failure_record_keeping_its_prefix_length_and_hash():
    long = b"\xff" + b"x" * 2000  # not UTF-8 at the start: kept backslash-escaped
    line = overlong(long)
    [item] = encoder().encode_overlong(line, 9)
    action, doc = (json.loads(x) for x in item.body.splitlines())
    prefix = long[:1024]
    assert (item.line_number, item.raw, item.failure) == (9, prefix, True)
    assert action["index"]["_index"] == "alb-logs-2022.02.15"
    assert doc["event"] == {"dataset": "aws.elb", "original": "\\xff" + "x" * 1023}
    assert doc["error"] == {"type": "parse_error", "message": (
        f"the line is 2,001 bytes, longer than the 100-byte limit; its first 1,024 bytes are kept here, "
        f"the whole line (sha256 {hashlib.sha256(long).hexdigest()}) in the dead letter")}
    assert doc["log"]["file"]["line_number"] == 9


def test_an_overlong_line_record_id_hashes_the_whole_line_not_only_the_prefix_kept():
    def record_id(data):
        [item] = encoder(source="/tmp/x.log", key=KeyInfo(time="2026-01-01T00:00:00Z")).encode_overlong(
            overlong(data), 4)
        return json.loads(item.body.splitlines()[0])["index"]["_id"]

    head = b"h" * 1024
    assert record_id(head + b"tail one") != record_id(head + b"tail two")
    assert record_id(head + b"tail one") == hashlib.blake2b(
        b"/tmp/x.log\n4\n" + hashlib.sha256(head + b"tail one").hexdigest().encode(), digest_size=16).hexdigest()


def test_an_overlong_line_before_the_first_document_waits_for_its_time(alb_examples):
    enc = encoder(source="/tmp/x.log")
    assert enc.encode_overlong(overlong(b"y" * 300), 1) == []
    items, failures = enc.encode([alb_line_at(alb_examples, "2026-11-20T08:00:00.000000Z")], 2)
    assert failures == 1 and failure_times(items) == {1: ("alb-logs-2026.11.20", "2026-11-20T08:00:00.000000Z")}


def test_encode_batches_numbers_lines_across_batches_blank_lines_and_overlong_lines(alb_examples):
    line = alb_examples["http"].encode()
    seen = []
    batches = [([line, b"", b"bad"], True), overlong(b"z" * 200), ([b"", line], False), overlong(b"w" * 150),
               ([line], True)]
    out = list(encode_batches(encoder(), batches, on_overlong=lambda o, n: seen.append((o.length, n))))
    assert [([i.line_number for i in items], failures) for items, failures in out] == [
        ([1, 3], 1), ([4], 1), ([6], 0), ([7], 1), ([8], 0)]
    assert seen == [(200, 4), (150, 7)]


def test_encode_batches_takes_overlong_lines_without_anyone_watching_and_closes_them():
    long = overlong(b"z" * 200)
    [(items, failures)] = list(encode_batches(encoder(), [long]))
    assert failures == 1 and items[0].line_number == 1
    assert long._file.closed


def test_encode_batches_trusts_each_batch_json_safe_flag_instead_of_checking_every_line_again():
    # The reader vouches for a batch in one scan; a batch it vouched for is not scanned line by line.
    spy = SpyFormat(ALB, "spy")
    list(encode_batches(BulkEncoder(spy, "/tmp/x.log"), [([b"vouched \\"], True), ([b"checked \\"], False)]))
    assert spy.calls == [("vouched \\", True), ("checked \\", False)]


def test_encode_batches_ends_with_the_failure_records_still_waiting_undated():
    out = list(encode_batches(encoder(source="/tmp/x.log"), [([b"bad 1", b"", b"bad 2"], True)]))
    assert [(len(items), failures) for items, failures in out] == [(0, 0), (2, 2)]
    assert set(failure_times(out[-1][0]).values()) == {("alb-logs-1970.01.01", UNDATED)}


def test_a_truncated_object_still_yields_the_failure_records_waiting_before_the_error():
    def cut_short():
        yield [b"bad 1", b"bad 2"], True
        raise TruncatedObject("the gzip stream ends before its end marker (the object is truncated)")

    out = []
    with pytest.raises(TruncatedObject):
        for items, failures in encode_batches(encoder(source="/tmp/x.log"), cut_short()):
            out.append(([i.line_number for i in items], failures))
    assert out == [([], 0), ([1, 2], 2)]


class _Headed:
    """A format whose `#cols a b` lines name the columns of the lines after them (as CloudFront's #Fields)."""

    name, dataset, index_prefix = "headed", "test.headed", "headed-logs"

    def for_object(self):
        return _HeadedObject()


class _HeadedObject:
    def __init__(self):
        self.columns = ["time"]
        self.observed = []

    def observe(self, raw: bytes) -> None:
        self.observed.append(raw)
        if raw.startswith(b"#cols "):
            self.columns = raw[6:].decode().split()

    def to_json(self, line: str, safe: bool = False):
        from ingest.formats import ParseError, SkipLine

        if line.startswith("#"):
            self.observe(line.encode())
            raise SkipLine("header")
        values = dict(zip(self.columns, line.split()))
        if not values.get("time", "").startswith("2026-"):
            raise ParseError("no time in the time column")
        return values["time"], '"@timestamp":"' + values["time"] + '"'


def test_a_format_with_state_gets_a_parser_per_object_and_its_header_lines_are_no_items_but_counted():
    lines = [b"#cols x time", b"a 2026-01-01T00:00:00Z", b"#cols time", b"2026-01-02T00:00:00Z"]
    first, second = encoder(_Headed()), encoder(_Headed())

    items, failures = first.encode(lines, 1)

    assert [item.line_number for item in items] == [2, 4] and failures == 0
    assert [bodies_of["@timestamp"] for bodies_of in (json.loads(i.body.split(b"\n")[1]) for i in items)] == [
        "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"]
    assert first.skipped_lines == [1, 3]
    assert second.encode([lines[1]], 1)[1] == 1  # a fresh object starts without the first one's header


def test_a_resumed_part_shows_the_lines_done_to_the_format_without_encoding_them():
    lines = [b"#cols x time", b"a 2026-01-01T00:00:00Z", b"b 2026-01-01T00:00:01Z"]
    enc = encoder(_Headed())

    out = list(encode_batches(enc, iter([(lines[:2], False), (lines[2:], False)]), start_line=2))

    assert [item.line_number for items, _ in out for item in items] == [3]
    assert enc._parser.observed == [b"#cols x time", b"a 2026-01-01T00:00:00Z"]
    assert enc.skipped_lines == []  # the part that did them counted them
