"""CloudFront standard logs: the legacy W3C files and standard logging (v2) as W3C or JSON.

Examples are the AWS documentation's example log file (data/cloudfront_doc_examples.log, verbatim).
The `#Fields` header names the columns of the lines after it; header lines are neither documents
nor failure records, but counted; without a header the documented legacy order applies."""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.bulk import BulkEncoder, encode_batches
from ingest.formats import FORMATS, KeyInfo, ParseError, SkipLine, Unsupported, detect, key_info
from ingest.formats.cloudfront import LEGACY_COLUMNS
from ingest.pipeline import LocalFile, Options, process_object
from ingest.sinks import DeadlineExceeded

from .conftest import load_examples
from .test_no_line_raises import SPRINKLES, assert_one_valid_item

CF = FORMATS["cloudfront"]
EXAMPLES = load_examples("cloudfront_doc_examples.log")
VERSION = "#Version: 1.0"
LEGACY_HEADER = "#Fields: " + " ".join(LEGACY_COLUMNS)
LEGACY_KEY = "example-prefix/EMLARXS9EXAMPLE.2019-11-14-20.RT4KCN4SGK9.gz"  # the docs' example name
# Standard logging (v2) to S3, partitioned and Hive-compatible (standard-logging "Send logs to Amazon S3").
V2_KEY = ("cf-logs/AWSLogs/aws-account-id=123456789012/CloudFront/DistributionId=EMLARXS9EXAMPLE/"
          "year=2025/month=09/day=01/hour=10/EMLARXS9EXAMPLE.2025-09-01-10.a1b2c3d4.gz")


def doc_of(line: str, fmt=CF) -> dict:
    return json.loads("{" + fmt.to_json(line)[1] + "}")


def items_of(lines: list[str], batch: int = 1000, start_line: int = 0, key: str = LEGACY_KEY):
    """(documents and failure records as dicts, the encoder) for an object's lines, in batches of `batch`."""
    raw = [line.encode() for line in lines]
    encoder = BulkEncoder(CF, "s3://logs/" + key, key=key_info(key))
    batches = [(raw[i:i + batch], False) for i in range(0, len(raw), batch)]
    out = []
    for items, _ in encode_batches(encoder, iter(batches), start_line=start_line):
        out += [(item.line_number, item.body) for item in items]
    return out, encoder


def body_doc(body: bytes) -> dict:
    return json.loads(body.split(b"\n")[1])


def test_the_first_documented_record_gives_this_document():
    assert doc_of(EXAMPLES["2019_hit_https_http2"]) == {
        "@timestamp": "2019-12-04T21:02:31Z",
        "source": {"ip": "192.0.2.100", "port": 11040},
        "http": {"version": "2.0", "request": {"method": "GET", "bytes": 23},
                 "response": {"bytes": 392, "status_code": 200, "mime_type": "text/html", "body": {"bytes": 78}}},
        "url": {"path": "/index.html", "domain": "d111111abcdef8.cloudfront.net", "scheme": "https"},
        "user_agent": {"original": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                                   "Chrome/78.0.3904.108 Safari/537.36"},
        "tls": {"version_protocol": "tls", "version": "1.2", "cipher": "ECDHE-RSA-AES128-GCM-SHA256"},
        "aws": {"cloudfront": {
            "x_edge_location": "LAX1", "cs_host": "d111111abcdef8.cloudfront.net", "x_edge_result_type": "Hit",
            "x_edge_request_id": "SOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==", "time_taken": 0.001,
            "x_edge_response_result_type": "Hit", "time_to_first_byte": 0.001, "x_edge_detailed_result_type": "Hit"}},
    }


def test_an_origin_dns_error_over_http_has_its_referrer_error_types_and_no_tls():
    doc = doc_of(EXAMPLES["2019_origin_dns_error_with_referer"])
    assert doc["http"]["request"]["referrer"] == "http://www.example.com/"
    assert doc["http"]["response"]["status_code"] == 502
    assert doc["url"] == {"path": "/favicon.ico", "domain": "www.example.com", "scheme": "http"}
    assert doc["aws"]["cloudfront"]["x_edge_result_type"] == "Error"
    assert doc["aws"]["cloudfront"]["x_edge_detailed_result_type"] == "OriginDnsError"
    assert "tls" not in doc


def test_the_trailing_tab_of_a_documented_record_adds_nothing():
    with_tab = doc_of(EXAMPLES["2019_hit_trailing_tab"])
    assert "extra_fields" not in with_tab["aws"]["cloudfront"]
    assert with_tab["aws"]["cloudfront"]["x_edge_request_id"] == "f37nTMVvnKvV2ZSvEsivup_c2kZ7VXzYdjC-GUQZ5qNs-89BlWazbw=="


def test_the_documented_example_file_gives_six_documents_and_two_counted_header_lines():
    lines = [VERSION, LEGACY_HEADER, *EXAMPLES.values()]
    items, encoder = items_of(lines)
    assert [n for n, _ in items] == [3, 4, 5, 6, 7, 8]
    assert all("tags" not in body_doc(body) for _, body in items)
    assert encoder.skipped_lines == [1, 2]


def test_the_fields_header_drives_the_columns_v2_subset_in_its_own_order():
    header = "#Fields: timestamp(ms) c-ip sc-status cs-uri-stem x-edge-result-type c-country asn time-taken cs(Host)"
    record = "1756720800123\t2001:db8::1\t404\t/missing\tError\tDE\t16509\t0.004\td111111abcdef8.cloudfront.net"
    items, encoder = items_of([VERSION, header, record])
    doc = body_doc(items[0][1])
    assert doc["@timestamp"] == "2025-09-01T10:00:00.123Z"
    assert doc["source"] == {"ip": "2001:db8::1"}  # source.geo and source.as are GeoIP's (ingest/enrich.py)
    assert doc["http"]["response"] == {"status_code": 404}
    assert doc["aws"]["cloudfront"] == {"timestamp_ms": 1756720800123, "x_edge_result_type": "Error",
                                         "c_country": "DE", "asn": 16509,
                                         "time_taken": 0.004, "cs_host": "d111111abcdef8.cloudfront.net"}
    assert encoder.skipped_lines == [1, 2]


def test_columns_aws_adds_later_are_kept_by_name_and_values_past_the_header_as_they_are():
    header = "#Fields: date time c-ip distribution-tenant-id sc-status"
    record = "2025-09-01\t10:00:00\t192.0.2.1\tdt_2abc\t200\tsurplus\t-"
    items, _ = items_of([header, record])
    doc = body_doc(items[0][1])
    assert doc["aws"]["cloudfront"]["extra_fields"] == ["distribution-tenant-id=dt_2abc", "surplus"]


def test_a_record_before_any_header_and_a_file_without_one_take_the_legacy_order():
    record = EXAMPLES["2019_origin_dns_error_curl"]
    items, encoder = items_of([record, "#Fields: date time c-ip", "2019-12-13\t22:37:03\t192.0.2.9"])
    first, second = (body_doc(body) for _, body in items)
    assert first["user_agent"]["original"] == "curl/7.55.1"
    assert second == {**{k: second[k] for k in ("@timestamp", "event", "log", "source")}}
    assert second["source"] == {"ip": "192.0.2.9"} and encoder.skipped_lines == [2]


def test_a_line_with_fewer_values_than_its_columns_was_cut_short_and_is_a_failure_record():
    record = EXAMPLES["2019_hit_https_http2"]
    cut = record[:record.index("\tHit\t")]
    items, _ = items_of([VERSION, LEGACY_HEADER, cut])
    doc = body_doc(items[0][1])
    assert doc["tags"] == ["parse_failure"]
    assert doc["event"]["original"] == cut
    assert doc["error"]["message"] == "13 of the 33 tab-separated fields the #Fields header names: cut short?"
    assert doc["@timestamp"] == "2019-11-14T20:00:00Z"  # dated by the hour the object's name gives


@pytest.mark.parametrize("change, why", [
    ({0: "2019-13-04"}, "impossible date and time 2019-13-04 21:02:31"),
    ({1: "21:02"}, "are not YYYY-MM-DD and hh:mm:ss"),
    ({3: "39x"}, "sc-bytes '39x' is not a long"),
    ({8: "2000"}, "sc-status '2000' is not a integer"),
    ({4: "not-an-ip"}, "c-ip 'not-an-ip' is not a ip"),
    ({18: "1e3"}, "time-taken '1e3' is not a float"),
    ({0: "-"}, "no time"),
])
def test_a_value_that_does_not_fit_its_field_makes_a_failure_reason(change, why):
    values = EXAMPLES["2019_hit_https_http2"].split("\t")
    for i, value in change.items():
        values[i] = value
    with pytest.raises(ParseError, match=why.replace("(", r"\(")):
        CF.to_json("\t".join(values))


def test_dashes_everywhere_but_the_time_give_a_document_of_the_time_alone():
    line = "\t".join(["2019-12-04", "21:02:31"] + ["-"] * 31)
    assert doc_of(line) == {"@timestamp": "2019-12-04T21:02:31Z"}


def test_status_000_the_viewer_hung_up_first_is_status_code_0():
    values = EXAMPLES["2019_hit_https_http2"].split("\t")
    values[8] = "000"
    assert doc_of("\t".join(values))["http"]["response"]["status_code"] == 0


def test_the_user_agent_and_referrer_are_url_decoded_the_path_query_and_cookie_kept_as_logged():
    values = EXAMPLES["2019_hit_https_http2"].split("\t")
    values[7], values[9], values[11], values[12] = ("/a%20b", "https://example.com/?q=%22x%22", "q=a%26b%20c",
                                                   "session=%7B1%7D")
    doc = doc_of("\t".join(values))
    assert doc["http"]["request"]["referrer"] == 'https://example.com/?q="x"'
    assert doc["url"]["path"] == "/a%20b" and doc["url"]["query"] == "q=a%26b%20c"
    assert doc["aws"]["cloudfront"]["cs_cookie"] == "session=%7B1%7D"
    assert doc["user_agent"]["original"].startswith("Mozilla/5.0 (Windows NT 10.0;")


def test_ipv6_viewers_and_ssl_protocols_other_than_tls():
    values = EXAMPLES["2019_hit_https_http2"].split("\t")
    values[4], values[19], values[20] = "2001:0db8:85a3:0000:0000:8a2e:0370:7334", "192.0.2.183", "SSLv3"
    doc = doc_of("\t".join(values))
    assert doc["source"]["ip"] == "2001:0db8:85a3:0000:0000:8a2e:0370:7334"
    assert doc["aws"]["cloudfront"]["x_forwarded_for"] == "192.0.2.183"
    assert doc["tls"]["version_protocol"] == "ssl" and doc["tls"]["version"] == "3"


def test_a_v2_json_record_names_its_fields_and_gives_the_same_document_as_its_w3c_line():
    line = EXAMPLES["2019_origin_dns_error_with_referer"]
    record = json.dumps(dict(zip(LEGACY_COLUMNS, line.split("\t"))))
    assert doc_of(record) == doc_of(line)


def test_a_v2_json_record_with_numbers_and_ms_time_and_one_cut_short():
    record = {"timestamp(ms)": 1731620046814, "c-ip": "192.0.2.10", "sc-status": 200, "time-taken": 0.25,
              "x-edge-location": "SOF50-P2", "origin-fbl": "0.251", "cache-behavior-path-pattern": "/api/*"}
    doc = doc_of(json.dumps(record))
    assert doc["@timestamp"] == "2024-11-14T21:34:06.814Z"
    assert doc["aws"]["cloudfront"]["origin_fbl"] == 0.251 and doc["aws"]["cloudfront"]["time_taken"] == 0.25
    with pytest.raises(ParseError, match="not a JSON object"):
        CF.to_json(json.dumps(record)[:40])


def test_header_lines_raise_skipline_and_a_comment_is_no_failure_either():
    for line in (VERSION, LEGACY_HEADER, "#Remark: anything"):
        with pytest.raises(SkipLine):
            CF.to_json(line)


@pytest.mark.parametrize("batch", [1, 2, 3, 1000])
def test_ids_indices_and_documents_do_not_depend_on_batch_boundaries(batch):
    header = "#Fields: date time c-ip sc-status cs-uri-stem"
    lines = [VERSION, header, "2025-09-01\t10:00:00\t192.0.2.1\t200\t/a", "2025-09-01\t10:00:01\t192.0.2.2\t404\t/b"]
    assert items_of(lines, batch)[0] == items_of(lines, 1000)[0]


@pytest.mark.parametrize("start_line", [2, 3])
def test_a_part_resumed_after_the_header_still_reads_its_columns(start_line):
    header = "#Fields: c-ip date time sc-status"  # not the legacy order: read wrongly, every line would fail
    lines = [VERSION, header, "192.0.2.1\t2025-09-01\t10:00:00\t200", "192.0.2.2\t2025-09-01\t10:00:01\t404"]
    whole, _ = items_of(lines, batch=2)
    resumed, encoder = items_of(lines, batch=2, start_line=start_line)
    assert resumed == [item for item in whole if item[0] > start_line]
    assert all("tags" not in body_doc(body) for _, body in resumed)
    assert encoder.skipped_lines == []  # counted by the part that did them


class _StopAfterOneRequest:
    """A sink that takes one request, then runs out of time."""

    def __init__(self):
        self.sent = []

    def send(self, items, deadline):
        if self.sent:
            raise DeadlineExceeded(len(items), "out of time", items)
        self.sent += items
        return []

    def close(self):
        pass


class _Nowhere:
    def store(self, letter, day):
        return None


def test_the_report_counts_header_lines_once_across_resumed_parts(tmp_path):
    from ingest.pipeline import Resume

    path = tmp_path / LEGACY_KEY.rsplit("/", 1)[1]
    path.write_text("\n".join([VERSION, LEGACY_HEADER, *EXAMPLES.values(), VERSION, LEGACY_HEADER,
                               EXAMPLES["2019_origin_dns_error_curl"]]) + "\n")
    obj = LocalFile(str(path), LEGACY_KEY)
    first = process_object(obj, _StopAfterOneRequest(), _Nowhere(), Options(bulk_max_docs=3))
    assert first.format == "cloudfront" and first.continuation["line"] == 5
    assert (first.indexed, first.skipped_lines) == (3, 2)
    resume = Resume(**first.continuation)
    rest = process_object(obj, _StopAfterOneRequest(), _Nowhere(), Options(), resume=resume)
    assert (rest.status, rest.indexed, rest.failed, rest.skipped_lines) == ("ok", 4, 0, 2)


def test_keys_legacy_and_v2_are_cloudfront_and_give_the_hour_and_account():
    assert detect(LEGACY_KEY) is CF
    assert key_info(LEGACY_KEY) == KeyInfo(None, None, "2019-11-14T20:00:00Z")
    assert detect(V2_KEY) is CF
    assert key_info(V2_KEY) == KeyInfo("123456789012", None, "2025-09-01T10:00:00Z")
    assert detect("AWSLogs/123456789012/CloudFront/E2QWRUHAPOMQZL.2025-09-01-10.a1b2c3d4.log.gz") is CF


def test_v2_parquet_objects_are_skipped_as_unsupported_and_named():
    with pytest.raises(Unsupported, match="Parquet"):
        detect("AWSLogs/123456789012/CloudFront/EMLARXS9EXAMPLE.2025-09-01-10.a1b2c3d4.parquet")


def test_first_lines_under_an_unknown_key_a_header_a_record_or_a_json_record():
    assert detect("uploads/x", LEGACY_HEADER) is CF
    assert detect("uploads/x", EXAMPLES["2019_hit_https_http2"]) is CF
    assert detect("uploads/x", '{"date":"2019-12-04","time":"21:02:31","x-edge-location":"LAX1"}') is CF


# No line raises: every line is exactly one document or failure record (helpers of test_no_line_raises).

@given(raw=st.binary(max_size=400).map(lambda b: b.replace(b"\n", b"")))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_bytes_yield_exactly_one_valid_item(raw):
    if raw and raw[:1] != b"#":
        assert_one_valid_item(CF, raw)


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_every_truncation_of_every_documented_record_yields_exactly_one_valid_item(name):
    raw = EXAMPLES[name].encode()
    for cut in range(1, len(raw) + 1):
        assert_one_valid_item(CF, raw[:cut])


@given(line=st.sampled_from(list(EXAMPLES.values())), data=st.data())
@settings(max_examples=400, deadline=None)
def test_documented_records_with_quotes_backslashes_control_characters_and_tabs_sprinkled_in(line, data):
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(1, len(line)))  # not before the first character: `#` would make a header
        line = line[:at] + data.draw(SPRINKLES | st.sampled_from(["%", "%2", "%ZZ", "%C3", "{"])) + line[at:]
    assert_one_valid_item(CF, line.encode())


@given(record=st.dictionaries(st.sampled_from(LEGACY_COLUMNS + ("timestamp(ms)", "asn", "new-field")),
                              st.one_of(st.text(max_size=12), st.integers(), st.floats(), st.none(), st.booleans()),
                              max_size=12))
@settings(max_examples=300, deadline=None)
def test_any_v2_json_record_yields_exactly_one_valid_item(record):
    assert_one_valid_item(CF, json.dumps(record).encode())
