"""Object reports, JSON log lines and the CloudWatch EMF metric lines."""
from __future__ import annotations

import io
import json

import pytest

from ingest import report as report_module
from ingest.report import METRICS, ObjectReport, emf_line, emf_lines, log, log_object, set_log_level

TIMESTAMP_MS = 1_700_000_000_000


@pytest.fixture(autouse=True)
def info_level():
    set_log_level("INFO")
    yield
    set_log_level("INFO")


def alb_ok(**changes) -> ObjectReport:
    fields = dict(
        uri="s3://logs-bucket/AWSLogs/123/elasticloadbalancing/eu-west-1/2024/01/31/a b.log.gz",
        format="alb",
        status="ok",
        lines_read=100,
        indexed=97,
        failed=2,
        dead_lettered=1,
        bytes_read=4096,
        seconds=1.25,
    )
    fields.update(changes)
    return ObjectReport(**fields)


def lines_of(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


# --- ObjectReport ----------------------------------------------------------------------------------


def test_report_is_accounted_for_when_indexed_failed_and_dead_lettered_add_up_to_lines_read():
    assert alb_ok().accounted_for
    assert not alb_ok(indexed=96).accounted_for
    assert not alb_ok(lines_read=101).accounted_for


def test_report_splits_its_uri_into_bucket_and_key():
    r = alb_ok()
    assert (r.bucket, r.key) == ("logs-bucket", "AWSLogs/123/elasticloadbalancing/eu-west-1/2024/01/31/a b.log.gz")


# --- logging ----------------------------------------------------------------------------------------


def test_log_prints_one_json_line_with_level_message_and_fields():
    out = io.StringIO()
    log("warning", "skipped", stream=out, reason="s3:TestEvent", count=2)
    [line] = lines_of(out)
    assert line["level"] == "WARNING" and line["message"] == "skipped"
    assert line["reason"] == "s3:TestEvent" and line["count"] == 2
    assert line["timestamp"].endswith("Z")


def test_log_keeps_multiline_text_on_one_line_and_prints_unknown_types_as_text():
    out = io.StringIO()
    log("ERROR", "boom\nsecond line", stream=out, error=ValueError("bad\nvalue"))
    assert out.getvalue().count("\n") == 1
    [line] = lines_of(out)
    assert line["message"] == "boom\nsecond line" and line["error"] == "bad\nvalue"


def test_log_does_not_let_fields_overwrite_level_or_message():
    out = io.StringIO()
    log("INFO", "real", stream=out, timestamp="fake")
    [line] = lines_of(out)
    assert line["field_timestamp"] == "fake" and line["timestamp"] != "fake"


def test_log_drops_lines_below_the_configured_level():
    out = io.StringIO()
    set_log_level("WARNING")
    log("INFO", "quiet", stream=out)
    log("DEBUG", "quieter", stream=out)
    log("ERROR", "loud", stream=out)
    assert [line["message"] for line in lines_of(out)] == ["loud"]


def test_log_writes_to_stdout_by_default(capsys):
    log("INFO", "hello")
    assert json.loads(capsys.readouterr().out)["message"] == "hello"


def test_log_object_prints_every_documented_field():
    out = io.StringIO()
    log_object(alb_ok(), stream=out)
    [line] = lines_of(out)
    assert {k: line[k] for k in ("level", "bucket", "key", "format", "lines", "indexed", "failed")} == {
        "level": "INFO",
        "bucket": "logs-bucket",
        "key": "AWSLogs/123/elasticloadbalancing/eu-west-1/2024/01/31/a b.log.gz",
        "format": "alb",
        "lines": 100,
        "indexed": 97,
        "failed": 2,
    }
    assert {k: line[k] for k in ("dead_lettered", "bytes", "seconds", "status", "error")} == {
        "dead_lettered": 1,
        "bytes": 4096,
        "seconds": 1.25,
        "status": "ok",
        "error": None,
    }
    assert "a b.log.gz" in line["message"]


def test_log_object_marks_failures_as_errors_and_unaccounted_lines_as_warnings():
    out = io.StringIO()
    log_object(alb_ok(status="failed", error="AccessDenied on GetObject"), stream=out)
    log_object(alb_ok(indexed=10), stream=out)
    failed, unaccounted = lines_of(out)
    assert (failed["level"], failed["error"]) == ("ERROR", "AccessDenied on GetObject")
    assert (unaccounted["level"], unaccounted["accounted_for"]) == ("WARNING", False)


# --- EMF --------------------------------------------------------------------------------------------


def test_emf_line_follows_the_embedded_metric_format_specification():
    [document] = [json.loads(line) for line in emf_lines([alb_ok()], "AccessLogsToOpenSearch", timestamp_ms=TIMESTAMP_MS)]
    metadata = document["_aws"]
    assert metadata["Timestamp"] == TIMESTAMP_MS
    [directive] = metadata["CloudWatchMetrics"]
    assert directive["Namespace"] == "AccessLogsToOpenSearch"
    # Dimensions is an array of dimension sets, each an array of names that are root members with string values.
    assert directive["Dimensions"] == [["Format"]]
    assert document["Format"] == "alb"
    # Every metric named in the directive is a number on the root node (not nested).
    names = [metric["Name"] for metric in directive["Metrics"]]
    assert names == list(METRICS)
    assert all(isinstance(document[name], (int, float)) for name in names)
    assert {m["Name"]: m["Unit"] for m in directive["Metrics"]} == METRICS


def test_emf_metric_names_cover_lines_indexed_failed_dead_lettered_bytes_and_objects():
    assert set(METRICS) >= {
        "Lines",
        "Indexed",
        "FailedLines",
        "DeadLettered",
        "Bytes",
        "ObjectsOk",
        "ObjectsFailed",
    }
    assert METRICS["Bytes"] == "Bytes" and METRICS["Lines"] == "Count"


def test_emf_sums_the_reports_of_each_format_into_its_own_line():
    reports = [
        alb_ok(),
        alb_ok(status="failed", lines_read=10, indexed=5, failed=0, dead_lettered=0, bytes_read=100, seconds=0.5),
        ObjectReport(uri="s3://b/s3/2024-01-31-00-00-00-ABC", format="s3-access", lines_read=3, indexed=3, bytes_read=300),
        ObjectReport(uri="s3://b/unknown.bin", format=None, status="skipped"),
    ]
    documents = {doc["Format"]: doc for doc in map(json.loads, emf_lines(reports, "NS", timestamp_ms=TIMESTAMP_MS))}
    assert sorted(documents) == ["alb", "s3-access", "unknown"]
    alb = documents["alb"]
    assert (alb["Lines"], alb["Indexed"], alb["FailedLines"], alb["DeadLettered"], alb["Bytes"]) == (110, 102, 2, 1, 4196)
    assert (alb["ObjectsOk"], alb["ObjectsFailed"], alb["ObjectsSkipped"], alb["Seconds"]) == (1, 1, 0, 1.75)
    assert (documents["s3-access"]["Indexed"], documents["s3-access"]["ObjectsOk"]) == (3, 1)
    assert documents["unknown"]["ObjectsSkipped"] == 1


def test_emf_adds_the_function_name_dimension_when_given():
    [document] = map(json.loads, emf_lines([alb_ok()], "NS", function_name="ship-logs", timestamp_ms=TIMESTAMP_MS))
    assert document["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["FunctionName", "Format"]]
    assert document["FunctionName"] == "ship-logs"


def test_emf_line_is_one_json_document_per_line_and_empty_without_reports():
    text = emf_line([alb_ok(), alb_ok(format="s3-access")], "NS", timestamp_ms=TIMESTAMP_MS)
    assert [json.loads(line)["Format"] for line in text.split("\n")] == ["alb", "s3-access"]
    assert emf_line([], "NS") == "" and emf_lines([], "NS") == []


def test_emf_timestamp_defaults_to_now_in_milliseconds(monkeypatch):
    monkeypatch.setattr(report_module.time, "time", lambda: 1_700_000_000.5)
    [document] = map(json.loads, emf_lines([alb_ok()], "NS"))
    assert document["_aws"]["Timestamp"] == 1_700_000_000_500


def test_emf_counts_objects_flagged_as_mostly_unparsed_and_overlong_lines():
    flagged = alb_ok(lines_read=10, indexed=2, failed=8, warning="8 of 10 lines did not parse as alb", overlong=1)
    [document] = map(json.loads, emf_lines([flagged, alb_ok()], "NS", timestamp_ms=TIMESTAMP_MS))
    assert (document["ObjectsMostlyUnparsed"], document["OverlongLines"], document["ObjectsOk"]) == (1, 1, 2)


def test_an_object_flagged_as_mostly_unparsed_is_logged_as_a_warning_with_the_reason():
    out = io.StringIO()
    log_object(alb_ok(warning="9 of 10 lines did not parse as alb (more than 50%): is this the right format?"),
               stream=out)
    record = json.loads(out.getvalue())
    assert record["level"] == "WARNING"
    assert record["warning"].startswith("9 of 10 lines did not parse")
