"""CloudFront standard logs: the field declaration the docs show, and the rules for single values
(times, decoding, JSON values, unknown columns, reasons) that test_cloudfront.py's documented
records do not reach."""
from __future__ import annotations

import json
import time

import pytest

from ingest.formats import FORMATS, ParseError
from ingest.formats import cloudfront
from ingest.formats.fields import field, leaves

from .conftest import load_examples

CF = FORMATS["cloudfront"]
EXAMPLES = load_examples("cloudfront_doc_examples.log")


@pytest.fixture(autouse=True)
def fresh_caches():
    # Decoded values and JSON key sets are cached per process; each test starts as a new invocation
    # does, so that what it checks is the decoding itself, not a value an earlier test left behind.
    cloudfront._DECODED.clear()
    cloudfront._JSON_COLUMNS.clear()


def doc_of(line: str, parser=CF) -> dict:
    return json.loads("{" + parser.to_json(line)[1] + "}")


def doc_after(header: str, line: str) -> dict:
    parser = CF.for_object()
    with pytest.raises(cloudfront.SkipLine):
        parser.to_json(header)
    return doc_of(line, parser)


def reason(line: str, parser=CF) -> str:
    with pytest.raises(ParseError) as refused:
        parser.to_json(line)
    return str(refused.value)


def legacy(changes: dict[str, str]) -> str:
    """The first documented record with values (by legacy column name) replaced."""
    values = EXAMPLES["2019_hit_https_http2"].split("\t")
    for name, value in changes.items():
        values[cloudfront.LEGACY_COLUMNS.index(name)] = value
    return "\t".join(values)


def leaves_of(node: dict, prefix: str = "") -> dict[str, object]:
    out = {}
    for key, value in node.items():
        out.update(leaves_of(value, prefix + key + ".") if isinstance(value, dict) else {prefix + key: value})
    return out


# A value of every known column (v2's JSON output may carry all of them), and one column not known yet.
EVERY_COLUMN = dict(zip(cloudfront.LEGACY_COLUMNS, EXAMPLES["2019_hit_https_http2"].split("\t")))
EVERY_COLUMN.update({"cs(Referer)": "https://example.com/", "cs-uri-query": "a=1", "cs(Cookie)": "s=1",
                     "x-forwarded-for": "192.0.2.1", "fle-status": "Processed", "fle-encrypted-fields": "2",
                     "sc-range-start": "0", "sc-range-end": "77", "timestamp(ms)": "1575493351000",
                     "timestamp": "1575493351", "origin-fbl": "0.001", "origin-lbl": "0.002", "asn": "16509",
                     "c-country": "US", "cache-behavior-path-pattern": "/*", "x-new-column": "v"})
JSON_TYPES = {"ip": str, "date": str, "long": int, "integer": int, "float": (int, float), "double": (int, float)}


def test_every_column_is_declared_where_the_parser_puts_it_with_a_type_its_value_has():
    # The declaration feeds the templates and the docs table (opensearch/templates/build.py).
    declared = leaves(cloudfront._declaration())
    assert set(cloudfront._KNOWN) <= set(EVERY_COLUMN)
    doc = leaves_of(doc_of(json.dumps(EVERY_COLUMN)))
    assert set(doc) == set(declared) | {"@timestamp"}
    for path, value in doc.items():
        for one in value if isinstance(value, list) else [value]:  # a keyword may hold several values
            assert isinstance(one, JSON_TYPES.get(declared.get(path, "date"), str)), (path, value)


def test_the_declaration_numbers_the_legacy_columns_in_order_and_carries_each_note():
    fields = cloudfront._declaration()
    assert [f.aws for f in fields if f.numbered] == list(cloudfront.LEGACY_COLUMNS)
    assert [(f.aws, f.note) for f in fields[:-1]] == [(aws, known[4]) for aws, known in cloudfront._KNOWN.items()]
    assert fields[-1] == field("columns not known yet", "aws.cloudfront.extra_fields", "long_keyword",
                               "`name=value` (a value past the named columns: as it is)", numbered=False)


# --- time -----------------------------------------------------------------------------------------

def test_v2_epoch_seconds_make_the_timestamp_when_there_are_no_milliseconds():
    doc = doc_after("#Fields: timestamp c-ip date time", "1756720800.5\t192.0.2.1\t2025-01-01\t00:00:00")
    assert doc["@timestamp"] == "2025-09-01T10:00:00.500Z"
    assert doc["aws"]["cloudfront"]["timestamp"] == 1756720800.5


@pytest.mark.parametrize("ms, seconds, expected", [
    ("1756720800123", "1756720801", "2025-09-01T10:00:00.123Z"),
    ("-", "1756720801", "2025-09-01T10:00:01.000Z"),
    ("", "1756720801", "2025-09-01T10:00:01.000Z"),
    ("-", "-", "2025-01-01T00:00:00Z"),
    ("", "", "2025-01-01T00:00:00Z"),
], ids=["milliseconds", "ms-dash", "ms-empty", "date-and-time", "date-and-time-after-empty"])
def test_the_timestamp_comes_from_milliseconds_else_seconds_else_date_and_time(ms, seconds, expected):
    header = "#Fields: timestamp(ms) timestamp date time"
    assert doc_after(header, f"{ms}\t{seconds}\t2025-01-01\t00:00:00")["@timestamp"] == expected
    record = {"timestamp(ms)": ms, "timestamp": seconds, "date": "2025-01-01", "time": "00:00:00"}
    assert doc_of(json.dumps(record))["@timestamp"] == expected


@pytest.mark.parametrize("record", [{"time": "10:00:00"}, {"date": "2025-09-01"},
                                    {"date": "2025-09-01", "time": "-"}, {"date": "-", "time": "10:00:00"}],
                         ids=["no-date", "no-time", "time-dash", "date-dash"])
def test_a_record_without_a_date_and_a_time_has_no_time(record):
    assert reason(json.dumps({**record, "c-ip": "192.0.2.1"})) == \
        "no time: the record has neither date and time nor timestamp(ms)"


def test_the_reason_quotes_a_date_and_a_time_up_to_40_characters_each():
    assert reason(legacy({"date": "2" * 39 + "xy", "time": "1" * 39 + "zw"})) == (
        f"date '{'2' * 39}x' and time '{'1' * 39}z' are not YYYY-MM-DD and hh:mm:ss")


def test_epoch_times_are_utc_whatever_the_machine_zone(monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        assert doc_of(json.dumps({"timestamp(ms)": "1756720800123"}))["@timestamp"] == "2025-09-01T10:00:00.123Z"
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize("ms, expected", [("0", "1970-01-01T00:00:00.000Z"),
                                          ("253402300799000", "9999-12-31T23:59:59.000Z")])
def test_epoch_times_from_1970_to_the_end_of_9999_are_taken(ms, expected):
    assert doc_of(json.dumps({"timestamp(ms)": ms}))["@timestamp"] == expected


@pytest.mark.parametrize("ms, why", [
    ("1" * 45 + "x", f"timestamp '{'1' * 40}' is not a number"),
    ("9" * 45, f"timestamp '{'9' * 40}' is out of range"),
    ("253402300800000", "timestamp '253402300800000' is out of range"),  # 10000-01-01
])
def test_an_epoch_time_that_is_no_number_or_out_of_range_says_so(ms, why):
    assert reason(json.dumps({"timestamp(ms)": ms})) == why


# --- values ---------------------------------------------------------------------------------------

def test_a_user_agent_and_a_referrer_decode_the_same_the_first_time_and_from_the_cache():
    line = legacy({"cs(User-Agent)": "curl/8.0%20(x)", "cs(Referer)": "https://example.com/"})
    for _ in range(2):
        doc = doc_of(line)
        assert doc["user_agent"]["original"] == "curl/8.0 (x)"
        assert doc["http"]["request"]["referrer"] == "https://example.com/"


def test_a_decoded_user_agent_is_escaped_for_json():
    assert doc_of(legacy({"cs(User-Agent)": "a%22b%5Cc"}))["user_agent"]["original"] == 'a"b\\c'


def test_only_tabs_separate_the_values_a_space_stays_inside_its_value():
    assert doc_of(legacy({"cs(User-Agent)": "curl 8"}))["user_agent"]["original"] == "curl 8"


def test_a_protocol_version_not_of_the_form_http_slash_is_kept_whole():
    assert doc_of(legacy({"cs-protocol-version": "HTTP/3.0"}))["http"]["version"] == "3.0"
    assert doc_of(legacy({"cs-protocol-version": "h2c"}))["http"]["version"] == "h2c"


def test_unknown_columns_drop_their_dash_and_empty_values_and_keep_the_others_by_name():
    doc = doc_after("#Fields: date time c-ip new-a new-b new-c", "2025-09-01\t10:00:00\t192.0.2.1\t-\t\tkept")
    assert doc["aws"]["cloudfront"]["extra_fields"] == ["new-c=kept"]


def test_json_values_that_are_no_string_or_number_are_kept_as_json_and_null_is_absent():
    record = {"timestamp(ms)": 1756720800123, "c-ip": None, "x-null": None, "x-list": [1, "a"], "x-flag": True,
              "x-object": {"k": 1}}
    doc = doc_of(json.dumps(record))
    assert "source" not in doc
    assert doc["aws"]["cloudfront"]["extra_fields"] == ['x-list=[1,"a"]', "x-flag=true", 'x-object={"k":1}']


def test_json_string_values_with_quotes_and_backslashes_are_escaped():
    record = {"timestamp(ms)": 1756720800123, "cs-uri-stem": '/a"b\\c', "x-edge-location": 'LAX"1'}
    doc = doc_of(json.dumps(record))
    assert (doc["url"]["path"], doc["aws"]["cloudfront"]["x_edge_location"]) == ('/a"b\\c', 'LAX"1')


def test_the_reason_quotes_a_value_that_does_not_fit_up_to_40_characters():
    assert reason(legacy({"sc-bytes": "9" * 39 + "xy"})) == f"sc-bytes '{'9' * 39}x' is not a long"


def test_a_legacy_line_cut_short_says_it_has_fewer_values_than_the_legacy_layout():
    cut = "\t".join(EXAMPLES["2019_hit_https_http2"].split("\t")[:13])
    assert reason(cut) == "13 of the 33 tab-separated fields of the legacy layout: cut short?"


# --- objects and keys -----------------------------------------------------------------------------

def test_a_header_with_bytes_that_are_not_utf8_still_sets_the_columns_of_a_resumed_object():
    parser = CF.for_object()
    parser.observe(b"#Fields: date time c-ip x-\xff")
    doc = doc_of("2025-09-01\t10:00:00\t192.0.2.1\tv", parser)
    assert doc["source"] == {"ip": "192.0.2.1"}
    assert doc["aws"]["cloudfront"]["extra_fields"] == ["x-\ufffd=v"]


def test_a_key_that_is_no_cloudfront_log_name_has_no_time():
    assert CF.key_time("AWSLogs/123456789012/elasticloadbalancing/us-east-1/2025/09/01/x.log.gz") is None
    assert CF.key_time("logs/EMLARXS9EXAMPLE.2019-11-14-20.RT4KCN4SGK9.gz") == "2019-11-14T20:00:00Z"


def test_a_column_the_header_names_twice_fills_its_field_once_and_the_second_is_kept_by_name():
    # Not what AWS writes, but a document with a key twice would be rejected whole.
    doc = doc_after("#Fields: date time c-ip c-ip sc-content-len sc-content-len",
                    "2025-09-01\t10:00:00\t192.0.2.1\t192.0.2.2\t5\t6")
    assert doc["source"] == {"ip": "192.0.2.1"}
    assert doc["http"]["response"]["body"] == {"bytes": 5}
    assert doc["aws"]["cloudfront"]["extra_fields"] == ["c-ip=192.0.2.2", "sc-content-len=6"]
