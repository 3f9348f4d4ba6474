"""No input line can make the encoder raise or emit invalid JSON: every line yields exactly one item.

Random bytes, every truncation of every documented line, and documented lines with quotes,
backslashes, control characters and non-UTF-8 bytes sprinkled in."""
from __future__ import annotations

import json

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.bulk import BulkEncoder
from ingest.formats import ALB, FORMATS, KeyInfo, ParseError
from ingest.reader import json_safe

from .conftest import ALB_EXAMPLES, CLB_EXAMPLES, NLB_EXAMPLES, S3_EXAMPLES

S3 = FORMATS["s3-access"]
NLB, CLB = FORMATS["nlb"], FORMATS["clb"]
FORMAT_EXAMPLES = [(ALB, line) for line in ALB_EXAMPLES.values()] + [(S3, line) for line in S3_EXAMPLES.values()]
FORMAT_EXAMPLES += [(NLB, line) for line in NLB_EXAMPLES.values()] + [(CLB, line) for line in CLB_EXAMPLES.values()]


def no_duplicate_keys(pairs):
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), f"duplicate keys {keys}"
    return dict(pairs)


def strict_json(text: bytes):
    """Parsed by two strict parsers, which must agree; duplicate keys are an error."""
    value = json.loads(text, object_pairs_hook=no_duplicate_keys)
    assert orjson.loads(text) == value
    return value


def assert_one_valid_item(fmt, raw: bytes) -> dict:
    enc = BulkEncoder(fmt, "s3://bucket/key", key=KeyInfo(time="2024-01-01T00:00:00Z"), include_raw=True)
    for trusted in {False, json_safe(raw)}:  # the reader only trusts a batch that json_safe passed
        items, failures = enc.encode([raw], 5, batch_is_json_safe=trusted)
        assert len(items) == 1
        action_line, source_line, end = items[0].body.split(b"\n")
        assert end == b""
        action = strict_json(action_line)
        doc = strict_json(source_line)
        assert list(action) == ["index"]
        assert action["index"]["_index"].startswith(fmt.index_prefix + "-")
        assert doc["log"]["file"]["line_number"] == 5
        assert isinstance(doc["@timestamp"], str)
        assert ("parse_failure" in doc.get("tags", ())) is (failures == 1)
        # The raw line is always recoverable from the document.
        assert doc["event"]["original"] == raw.decode("utf-8", "backslashreplace")
    return doc


def assert_paths_agree(fmt, line: str) -> None:
    """On a JSON-safe line the fast path must give what the slow path gives (or both refuse)."""
    if not json_safe(line.encode()):
        return
    results = []
    for safe in (True, False):
        try:
            results.append(fmt.to_json(line, safe))
        except ParseError:
            results.append(ParseError)
    assert results[0] == results[1]


lines = st.binary(max_size=400).map(lambda b: b.replace(b"\n", b""))
SPRINKLES = st.sampled_from(['"', "\\", "\\\"", " ", '""', "\x00", "\t", "\x1f", "\x7f", "-", "\u2028", "é", "٣", "0"])


@pytest.mark.parametrize("fmt", [ALB, S3, NLB, CLB], ids=["alb", "s3-access", "nlb", "clb"])
@given(raw=lines)
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_random_bytes_yield_exactly_one_valid_item(fmt, raw):
    if raw:
        assert_one_valid_item(fmt, raw)


@pytest.mark.parametrize("fmt, line", FORMAT_EXAMPLES)
def test_every_truncation_of_every_documented_line_yields_exactly_one_valid_item(fmt, line):
    raw = line.encode()
    for cut in range(1, len(raw) + 1):
        assert_one_valid_item(fmt, raw[:cut])
        assert_paths_agree(fmt, line[:cut])


@given(example=st.sampled_from(FORMAT_EXAMPLES), data=st.data())
@settings(max_examples=800, deadline=None)
def test_documented_lines_with_quotes_backslashes_and_control_characters_sprinkled_in(example, data):
    fmt, line = example
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(line)))
        line = line[:at] + data.draw(SPRINKLES) + line[at:]
    assert_one_valid_item(fmt, line.encode())
    assert_paths_agree(fmt, line)


def test_a_space_sprinkled_into_the_last_placeholder_of_the_2026_example_gives_one_document_on_both_paths():
    # What the sprinkle test above found (seeds 1148 and 1156 of a random run): kept as a named
    # example, since the derandomized CI profile need not draw it again.
    line = ALB_EXAMPLES["fixed_response_2026_ip_address_and_placeholders"]
    assert line.endswith(' "-" "-"')
    line = line[:-2] + ' -"'
    assert_one_valid_item(ALB, line.encode())
    assert_paths_agree(ALB, line)


@given(example=st.sampled_from(FORMAT_EXAMPLES), data=st.data())
@settings(max_examples=300, deadline=None)
def test_documented_lines_with_non_utf8_bytes_sprinkled_in(example, data):
    fmt, line = example
    raw = line.encode()
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(raw)))
        raw = raw[:at] + data.draw(st.sampled_from([b"\xff", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\x80"])) + raw[at:]
    assert_one_valid_item(fmt, raw)


@given(example=st.sampled_from(FORMAT_EXAMPLES), data=st.data())
@settings(max_examples=300, deadline=None)
def test_documented_lines_with_fields_dropped_or_duplicated_yield_one_valid_item(example, data):
    fmt, line = example
    tokens = line.split(" ")
    at = data.draw(st.integers(0, len(tokens) - 1))
    if data.draw(st.booleans()):
        tokens.pop(at)
    else:
        tokens.insert(at, tokens[at])
    mutated = " ".join(tokens)
    assert_one_valid_item(fmt, mutated.encode())
    assert_paths_agree(fmt, mutated)


@pytest.mark.parametrize("fmt, line", FORMAT_EXAMPLES)
def test_a_documented_line_yields_a_parsed_document_not_a_failure(fmt, line):
    doc = assert_one_valid_item(fmt, line.encode())
    assert "tags" not in doc
