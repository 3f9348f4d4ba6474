"""S3 server access log parsing, specified by AWS's documented examples and the shapes real files take."""
from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.formats import FORMATS, ParseError

S3 = FORMATS["s3-access"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
OWNER = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"

# The documented PUT record's 26 fields, one item per field (the time is one field holding a space).
PUT_FIELDS = [
    OWNER, "DOC-EXAMPLE-BUCKET1", "[06/Feb/2019:00:01:57 +0000]", "192.0.2.3", OWNER, "DD6CC733AEXAMPLE",
    "REST.PUT.OBJECT", "s3-dg.pdf", '"PUT /DOC-EXAMPLE-BUCKET1/s3-dg.pdf HTTP/1.1"', "200", "-", "-", "4406583",
    "41754", "28", '"-"', '"S3Console/0.4"', "-",
    "10S62Zv81kBW7BB6SX4XJ48o6kpcl6LPwEoizZQQxJd5qDSCTLX0TgS37kYUBKQW3+bPdrg1234=", "SigV4",
    "ECDHE-RSA-AES128-SHA", "AuthHeader", "DOC-EXAMPLE-BUCKET1.s3.us-west-1.amazonaws.com", "TLSV1.2", "-", "Yes",
]


def with_fields(**replacements: str) -> str:
    """The PUT record with some fields (by 1-based AWS position, e.g. f8=...) replaced."""
    fields = list(PUT_FIELDS)
    for name, value in replacements.items():
        fields[int(name[1:]) - 1] = value
    return " ".join(fields)


def test_the_fields_of_the_documented_put_record_are_the_doc_example(s3_examples):
    assert " ".join(PUT_FIELDS) == s3_examples["2023_put_object"]


# --- golden documents -----------------------------------------------------------------------------

def test_documented_put_record_becomes_exactly_this_document(s3, s3_examples):
    assert s3(s3_examples["2023_put_object"]) == {
        "@timestamp": "2019-02-06T00:01:57Z",
        "source": {"ip": "192.0.2.3"},
        "http": {"request": {"method": "PUT"}, "response": {"bytes": 0, "status_code": 200}, "version": "1.1"},
        "url": {"original": "/DOC-EXAMPLE-BUCKET1/s3-dg.pdf", "path": "/DOC-EXAMPLE-BUCKET1/s3-dg.pdf"},
        "user_agent": {"original": "S3Console/0.4"},
        "aws": {"s3access": {
            "bucket_owner": OWNER, "bucket": "DOC-EXAMPLE-BUCKET1", "requester": OWNER,
            "request_id": "DD6CC733AEXAMPLE", "operation": "REST.PUT.OBJECT", "key": "s3-dg.pdf",
            "object_size": 4406583, "total_time": 41754, "turn_around_time": 28,
            "host_id": "10S62Zv81kBW7BB6SX4XJ48o6kpcl6LPwEoizZQQxJd5qDSCTLX0TgS37kYUBKQW3+bPdrg1234=",
            "signature_version": "SigV4", "cipher_suite": "ECDHE-RSA-AES128-SHA", "authentication_type": "AuthHeader",
            "host_header": "DOC-EXAMPLE-BUCKET1.s3.us-west-1.amazonaws.com", "tls_version": "TLSV1.2",
            "acl_required": "Yes",
        }},
    }


def test_current_documented_record_maps_the_trailing_region_token(s3, s3_examples):
    assert s3(s3_examples["current_get_versioning_region"]) == {
        "@timestamp": "2019-02-06T00:00:38Z",
        "source": {"ip": "192.0.2.3"},
        "http": {"request": {"method": "GET"}, "response": {"bytes": 113, "status_code": 200}, "version": "1.1"},
        "url": {"original": "/amzn-s3-demo-bucket1?versioning", "path": "/amzn-s3-demo-bucket1",
                "query": "versioning"},
        "user_agent": {"original": "S3Console/0.4"},
        "aws": {"s3access": {
            "bucket_owner": OWNER, "bucket": "amzn-s3-demo-bucket1", "requester": OWNER,
            "request_id": "3E57427F3EXAMPLE", "operation": "REST.GET.VERSIONING", "total_time": 7,
            "host_id": "s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234=",
            "signature_version": "SigV4", "cipher_suite": "ECDHE-RSA-AES128-GCM-SHA256",
            "authentication_type": "AuthHeader", "host_header": "amzn-s3-demo-bucket1.s3.us-west-1.amazonaws.com",
            "tls_version": "TLSV1.2", "access_point_arn": "arn:aws:s3:us-west-1:123456789012:accesspoint/example-AP",
            "acl_required": "Yes", "source_region": "us-east-1",
        }},
    }


# --- key fields of every other documented record --------------------------------------------------

def test_every_documented_record_parses_with_its_bucket_owner_and_operation(s3, s3_example):
    doc = s3(s3_example)
    assert doc["aws"]["s3access"]["bucket_owner"] == OWNER
    assert doc["aws"]["s3access"]["operation"] == s3_example.split(" ")[7]
    assert doc["@timestamp"].startswith("2019-02-06T00:0")
    assert "extra_fields" not in doc["aws"]["s3access"]


def test_record_without_access_point_and_acl_leaves_both_absent(s3, s3_examples):
    doc = s3(s3_examples["2023_get_logging_status"])["aws"]["s3access"]
    assert doc["request_id"] == "891CE47D2EXAMPLE"
    assert "access_point_arn" not in doc and "acl_required" not in doc


def test_record_with_a_trailing_space_parses_and_keeps_its_error_code(s3, s3_examples):
    line = s3_examples["2023_bucketpolicy_404"]
    assert line.endswith("Yes ")  # verbatim from the docs
    doc = s3(line)
    assert doc["http"]["response"] == {"bytes": 297, "status_code": 404}
    assert doc["aws"]["s3access"]["error_code"] == "NoSuchBucketPolicy"
    assert doc["aws"]["s3access"]["acl_required"] == "Yes"


def test_record_at_a_later_second_and_the_logging_status_region_record(s3, s3_examples):
    assert s3(s3_examples["2023_get_versioning_0100"])["aws"]["s3access"]["total_time"] == 33
    region_doc = s3(s3_examples["current_get_logging_status_region"])["aws"]["s3access"]
    assert region_doc["source_region"] == "us-east-1"
    assert "acl_required" not in region_doc


def test_the_2023_and_current_versions_of_a_record_differ_only_in_bucket_name_and_region(s3, s3_examples):
    old = s3(s3_examples["2023_get_versioning_access_point"])
    new = s3(s3_examples["current_get_versioning_region"])
    del new["aws"]["s3access"]["source_region"]
    assert str(old).replace("DOC-EXAMPLE-BUCKET1", "amzn-s3-demo-bucket1") == str(new)


# --- `-` anywhere ---------------------------------------------------------------------------------

@pytest.mark.parametrize("position", [4, 5, 6, 8, 10, 11, 13, 14, 15, 18, 19, 20, 21, 22, 23, 24, 25, 26])
def test_a_dash_in_any_unquoted_field_parses(s3, position):
    doc = s3(with_fields(**{f"f{position}": "-"}))
    assert doc["aws"]["s3access"]["operation"] == "REST.PUT.OBJECT"


def test_dash_values_are_absent_not_dashes(s3):
    doc = s3(with_fields(f4="-", f5="-", f8="-", f10="-", f13="-", f14="-", f15="-"))
    assert "source" not in doc
    assert doc["http"]["response"] == {"bytes": 0}
    assert {"requester", "key", "object_size", "total_time", "turn_around_time"}.isdisjoint(doc["aws"]["s3access"])
    assert "-" not in doc["aws"]["s3access"].values()


@pytest.mark.parametrize("quoted_dash", ['"-"', "-"])
def test_request_uri_referrer_and_user_agent_may_be_a_dash_quoted_or_bare(s3, quoted_dash):
    doc = s3(with_fields(f9=quoted_dash, f16=quoted_dash, f17=quoted_dash))
    assert "url" not in doc
    assert "user_agent" not in doc
    assert "request" not in doc["http"]
    assert doc["aws"]["s3access"]["object_size"] == 4406583


def test_bytes_sent_dash_is_zero_as_aws_documents(s3):
    assert s3(with_fields(f12="-"))["http"]["response"]["bytes"] == 0
    assert s3(with_fields(f12="1234"))["http"]["response"]["bytes"] == 1234


def test_referrer_is_kept(s3):
    assert s3(with_fields(f16='"https://example.com/page"'))["http"]["request"]["referrer"] == "https://example.com/page"


# --- requester, key, time -------------------------------------------------------------------------

def test_cloudfront_origin_access_identity_requester_with_spaces_is_one_field(s3):
    oai = "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E1ABCDEF2GHIJK"
    doc = s3(with_fields(f5=oai))
    assert doc["aws"]["s3access"]["requester"] == oai
    assert doc["aws"]["s3access"]["request_id"] == "DD6CC733AEXAMPLE"
    assert doc["aws"]["s3access"]["operation"] == "REST.PUT.OBJECT"


def test_keys_are_kept_url_encoded_as_logged(s3):
    doc = s3(with_fields(f8="photos/my+cat%20%26%20dog%22.jpg",
                         f9='"PUT /DOC-EXAMPLE-BUCKET1/photos/my+cat%20%26%20dog%22.jpg?x-foo=a+b HTTP/1.1"'))
    assert doc["aws"]["s3access"]["key"] == "photos/my+cat%20%26%20dog%22.jpg"
    assert doc["url"]["path"] == "/DOC-EXAMPLE-BUCKET1/photos/my+cat%20%26%20dog%22.jpg"
    assert doc["url"]["query"] == "x-foo=a+b"


@pytest.mark.parametrize("logged, utc", [
    ("[06/Feb/2019:00:01:57 +0000]", "2019-02-06T00:01:57Z"),
    ("[06/Feb/2019:00:01:57 +0100]", "2019-02-05T23:01:57Z"),
    ("[31/Dec/2019:23:30:00 -0130]", "2020-01-01T01:00:00Z"),
    ("[01/Mar/2024:05:00:00 +0530]", "2024-02-29T23:30:00Z"),
])
def test_times_in_other_zones_are_converted_to_utc(s3, logged, utc):
    assert s3(with_fields(f3=logged))["@timestamp"] == utc


@pytest.mark.parametrize("logged", ["[06/Foo/2019:00:01:57 +0000]", "[31/Feb/2019:00:01:57 +0100]",
                                    "[01/Jan/0001:00:30:00 +0100]", "[٠٦/Feb/2019:00:01:57 +0000]"])
def test_an_impossible_time_is_a_parse_error(logged):
    for safe in (True, False):
        with pytest.raises(ParseError):
            S3.to_json(with_fields(f3=logged), safe)


@pytest.mark.parametrize("offset", ["+0000", "+0100"])
@pytest.mark.parametrize("logged", [
    "31/Feb/2019:00:01:57", "29/Feb/2019:00:01:57", "30/Apr/2019:00:01:57".replace("30", "31"), "00/Feb/2019:00:01:57",
    "32/Jan/2019:00:01:57", "06/Feb/2019:24:00:00", "06/Feb/2019:00:60:00", "06/Feb/2019:23:59:60",
    "06/Feb/2019:99:99:99",
])
def test_an_impossible_time_says_so_in_any_zone_on_both_paths(logged, offset):
    line = with_fields(f3=f"[{logged} {offset}]")
    for safe in (True, False):
        with pytest.raises(ParseError, match="impossible timestamp"):
            S3.to_json(line, safe)


@pytest.mark.parametrize("logged, utc", [
    ("[29/Feb/2024:23:59:59 +0000]", "2024-02-29T23:59:59Z"),
    ("[31/Dec/2026:00:00:00 +0000]", "2026-12-31T00:00:00Z"),
    ("[30/Apr/2026:12:00:00 +0000]", "2026-04-30T12:00:00Z"),
])
def test_the_edges_of_possible_times_parse(s3, logged, utc):
    assert s3(with_fields(f3=logged))["@timestamp"] == utc


TWO_DIGITS = st.one_of(st.integers(0, 61), st.integers(0, 99)).map("{:02d}".format)  # mostly near the ranges


@given(year=st.sampled_from([1900, 2000, 2019, 2024]), month=st.sampled_from(list(MONTHS)), day=TWO_DIGITS,
       hour=TWO_DIGITS, minute=TWO_DIGITS, second=TWO_DIGITS, offset=st.sampled_from(["+0000", "-0130"]))
def test_a_time_parses_exactly_when_it_is_a_real_instant(year, month, day, hour, minute, second, offset):
    line = with_fields(f3=f"[{day}/{month}/{year}:{hour}:{minute}:{second} {offset}]")
    try:
        datetime(year, MONTHS.index(month) + 1, int(day), int(hour), int(minute), int(second))
        real = True
    except ValueError:
        real = False
    for safe in (True, False):
        if real:
            S3.to_json(line, safe)
        else:
            with pytest.raises(ParseError, match="impossible timestamp"):
                S3.to_json(line, safe)


# --- field counts ---------------------------------------------------------------------------------

@pytest.mark.parametrize("count", [17, 18, 20, 24, 25, 26])
def test_lines_with_fewer_fields_from_older_files_parse(s3, count):
    doc = s3(" ".join(PUT_FIELDS[:count]))
    s3doc = doc["aws"]["s3access"]
    assert doc["user_agent"] == {"original": "S3Console/0.4"}
    assert ("host_id" in s3doc) is (count >= 19)
    assert ("tls_version" in s3doc) is (count >= 24)
    assert ("acl_required" in s3doc) is (count >= 26)
    assert "source_region" not in s3doc


def test_a_line_with_fewer_than_seventeen_fields_is_a_parse_error_that_says_so():
    with pytest.raises(ParseError, match="expected at least 17 fields"):
        S3.to_json(" ".join(PUT_FIELDS[:16]))


def test_a_line_that_does_not_start_like_an_s3_record_says_so():
    with pytest.raises(ParseError, match="does not start like an S3 server access log record"):
        S3.to_json("hello world")


def test_fields_aws_appends_after_the_region_are_kept_as_extra_fields(s3):
    doc = s3(" ".join(PUT_FIELDS) + ' eu-west-1 newfield - "quoted value" -')
    assert doc["aws"]["s3access"]["source_region"] == "eu-west-1"
    assert doc["aws"]["s3access"]["extra_fields"] == ["newfield", "quoted value"]


# --- JSON safety ----------------------------------------------------------------------------------

def test_quotes_and_backslashes_inside_quoted_fields_are_escaped(s3):
    doc = s3(with_fields(f17='"agent \\"x\\" \\\\ y"'))
    assert doc["user_agent"]["original"] == 'agent \\"x\\" \\\\ y'


def test_a_double_quote_inside_an_unquoted_field_is_escaped_not_written_raw(s3):
    doc = s3(with_fields(f8='odd"key', f18='v"1'))
    assert doc["aws"]["s3access"]["key"] == 'odd"key'
    assert doc["aws"]["s3access"]["version_id"] == 'v"1'


@pytest.mark.parametrize("number", ["0200", "٢٠٠"])
def test_a_status_that_is_not_a_plain_json_number_is_rejected_not_emitted(number):
    line = with_fields(f10=number)
    for safe in (True, False):
        with pytest.raises(ParseError):
            S3.to_json(line, safe)


# --- placeholders, messages, zones, and which path a line takes ---------------------------------------

def test_dashes_in_the_request_and_the_later_fields_leave_them_absent(s3):
    doc = s3(with_fields(f6="-", f9='"-"', f19="-", f20="-", f21="-", f22="-", f23="-", f24="-") + " -")
    assert "url" not in doc and "request" not in doc["http"] and "version" not in doc["http"]
    assert {"request_id", "host_id", "signature_version", "cipher_suite", "authentication_type", "host_header",
            "tls_version", "source_region"}.isdisjoint(doc["aws"]["s3access"])


def test_a_request_whose_method_is_a_dash_keeps_its_url(s3):
    doc = s3(with_fields(f9='"- /DOC-EXAMPLE-BUCKET1/s3-dg.pdf HTTP/1.1"'))
    assert "request" not in doc["http"] and doc["http"]["version"] == "1.1"
    assert doc["url"] == {"original": "/DOC-EXAMPLE-BUCKET1/s3-dg.pdf", "path": "/DOC-EXAMPLE-BUCKET1/s3-dg.pdf"}


@pytest.mark.parametrize("position", [20, 24, 27])
def test_a_quote_in_a_later_unquoted_field_gives_the_slow_path_document(s3, position):
    fields = PUT_FIELDS + ["us-west-1"]
    fields[position - 1] = 'odd"value'
    doc = s3(" ".join(fields))  # the fixture checks the fast path against the slow one
    assert 'odd"value' in doc["aws"]["s3access"].values() and "extra_fields" not in doc["aws"]["s3access"]


def test_to_json_checks_the_line_itself_unless_told_it_is_json_safe():
    line = with_fields(f17='"agent \\\\ y"')
    assert S3.to_json(line) == S3.to_json(line, False)


@pytest.mark.parametrize(("line", "why"), [
    ("hello world", "does not start like an S3 server access log record (owner bucket [dd/Mon/yyyy:hh:mm:ss +zzzz])"),
    (" ".join(PUT_FIELDS[:8]) + ' "PUT /DOC-EXAMPLE', "the line ends inside a quoted value (token 10): cut short?"),
    (" ".join(PUT_FIELDS[:16]), "expected at least 17 fields, found 17 tokens"),
    (" ".join(PUT_FIELDS) + ' us-west-1 new "cut', "the line ends inside a quoted value after the known fields: cut short?"),
    (with_fields(f3="[06/Foo/2019:00:01:57 +0000]"), "unknown month 'Foo' in the time field"),
    (with_fields(f3="[06/Feb/2019:00:01:57 +2400]"),
     "impossible timestamp [06/Feb/2019:00:01:57 +2400] in the time field: "),
])
def test_a_refused_line_says_why_on_both_paths(line, why):
    for safe in (True, False):
        with pytest.raises(ParseError) as refused:
            S3.to_json(line, safe)
        assert str(refused.value).startswith(why) and (why.endswith(": ") or str(refused.value) == why)


def test_times_are_converted_to_utc_whatever_the_machine_time_zone(s3, monkeypatch):
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert s3(with_fields(f3="[06/Feb/2019:00:01:57 +0100]"))["@timestamp"] == "2019-02-05T23:01:57Z"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_request_whose_url_is_a_dash_keeps_its_method_and_has_no_url(s3):
    doc = s3(with_fields(f9='"GET - HTTP/1.1"'))
    assert "url" not in doc and doc["http"]["request"] == {"method": "GET"} and doc["http"]["version"] == "1.1"
