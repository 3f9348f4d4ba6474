"""The helpers every format shares (ingest/formats/base.py), specified on their own.

The formats call some of them only when they are imported (line_patterns), so the format tests
alone cannot tell a wrong helper from a right one: these tests can."""
from __future__ import annotations

import json

import pytest

from ingest.formats.base import (JSON_INT, ParseError, PatternDetection, SpaceSeparated, SpaceSeparatedFormat,
                                 UnclosedQuote, extra_fields, extra_fields_member, group_count, invalid_field,
                                 json_escape, json_list, line_patterns, line_tokens, padded_fields, possible_time,
                                 slow_tokens, split_request, tls_version_members, url_members)


# -- line_patterns --------------------------------------------------------------------------------------

FIELDS = [r"(a)", r"(b)", r"(c)", r"(d)"]


def test_line_patterns_require_the_common_fields_and_then_the_required_ones_the_rest_optional_in_turn():
    recent, older = line_patterns(FIELDS, required=2, common=3)
    assert recent.pattern == r"(a) (b) (c)(?: (d))?(?: (.*))?\Z"
    assert older.pattern == r"(a) (b)(?: (c)(?: (d))?)?(?: (.*))?\Z"
    assert recent.flags & older.flags & __import__("re").ASCII


@pytest.mark.parametrize(("line", "recent", "older"), [
    ("a b c d", ("a", "b", "c", "d", None), ("a", "b", "c", "d", None)),
    ("a b c d more fields", ("a", "b", "c", "d", "more fields"), ("a", "b", "c", "d", "more fields")),
    ("a b c", ("a", "b", "c", None, None), ("a", "b", "c", None, None)),
    ("a b", None, ("a", "b", None, None, None)),
    ("a b d", None, ("a", "b", None, None, "d")),  # a field out of place is trailing text, never a shift
    ("a", None, None),
])
def test_line_patterns_match_whole_lines_and_capture_what_follows_the_known_fields(line, recent, older):
    fast, slow = line_patterns(FIELDS, required=2, common=3)
    assert (m.groups() if (m := fast.match(line)) else None) == recent
    assert (m.groups() if (m := slow.match(line)) else None) == older


def test_line_patterns_match_ascii_digits_only():
    fast, _ = line_patterns([r"(\d+)"], required=1, common=1)
    assert fast.match("12") and not fast.match("١٢")  # Arabic-Indic digits are not a log's numbers


def test_group_count_counts_capturing_groups_only():
    assert group_count(r"(a)(?:b)(c(d))") == 3
    assert group_count(r"(?:x)") == 0


def test_json_int_lets_only_json_numbers_through():
    import re

    number = re.compile(JSON_INT + r"\Z")
    assert [bool(number.match(s)) for s in ("0", "7", "80", "1234567890", "0080", "-1", "1.5", "")] == [
        True, True, True, True, False, False, False, False]


# -- possible_time ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("iso", "possible"), [
    ("2024-02-29T23:59:59Z", True), ("2000-02-29T00:00:00Z", True), ("2023-02-29T00:00:00Z", False),
    ("1900-02-29T00:00:00Z", False), ("2024-12-31T00:00:00Z", True), ("2024-04-31T00:00:00Z", False),
    ("2024-13-01T00:00:00Z", False), ("2024-00-10T00:00:00Z", False), ("2024-01-00T00:00:00Z", False),
    ("2024-01-01T24:00:00Z", False), ("2024-01-01T23:60:00Z", False), ("2024-01-01T23:59:60Z", False),
])
def test_possible_time_knows_month_lengths_leap_years_and_clock_ranges(iso, possible):
    assert possible_time(iso) is possible


# -- tokens and escaping -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "escaped"), [
    ("plain text", "plain text"),
    ("tab\there", "tab\\there"),
    ("nul\x00", "nul\\u0000"),
    ('say "hi"', 'say \\"hi\\"'),
    ("back\\slash", "back\\\\slash"),
    ("ünïcödé", "ünïcödé"),
])
def test_json_escape_escapes_exactly_what_json_needs(value, escaped):
    assert json_escape(value) == escaped
    assert json.loads('"' + json_escape(value) + '"') == value


def test_json_list_joins_escaped_strings_into_a_json_array():
    assert json_list(["a", 'b\\"c']) == '["a","b\\"c"]'
    assert json.loads(json_list(["a", 'b\\"c'])) == ["a", 'b"c']


def test_slow_tokens_split_at_spaces_unquote_quoted_values_and_escape_them():
    assert slow_tokens('a  "b c" "d \\" e" "" f\tg') == ["a", "b c", 'd \\\\\\" e', "", "f\\tg"]


@pytest.mark.parametrize(("line", "token"), [('"open', 0), ('a b "c d', 2), ('a "x \\"', 1)])
def test_slow_tokens_refuse_a_quote_left_open_naming_the_token(line, token):
    with pytest.raises(UnclosedQuote) as refused:
        slow_tokens(line)
    assert refused.value.token == token
    assert str(refused.value) == f"the line ends inside a quoted value (token {token + 1}): cut short?"
    assert isinstance(refused.value, ParseError)


@pytest.mark.parametrize(("request_line", "parts"), [
    ("GET http://h:80/p?q HTTP/1.1", ("GET", "http://h:80/p?q", "HTTP/1.1")),
    ("GET /a b c HTTP/1.1", ("GET", "/a b c", "HTTP/1.1")),
    ("GET /path", ("GET", "/path", "")),
    ("GET", ("GET", "", "")),
    ("- http://host:80- -", ("-", "http://host:80-", "-")),
])
def test_split_request_splits_at_the_first_and_last_space(request_line, parts):
    assert split_request(request_line) == parts


@pytest.mark.parametrize(("url", "absolute", "members"), [
    ("https://example.com:443/a/b?x=1&y", True,
     {"original": "https://example.com:443/a/b?x=1&y", "scheme": "https", "domain": "example.com", "port": 443,
      "path": "/a/b", "query": "x=1&y"}),
    ("http://[2001:db8::1]:8080/", True,
     {"original": "http://[2001:db8::1]:8080/", "scheme": "http", "domain": "2001:db8::1", "port": 8080, "path": "/"}),
    ("http://example.com", True, {"original": "http://example.com", "scheme": "http", "domain": "example.com"}),
    ("http://host:80-", True, {"original": "http://host:80-"}),
    ("/bucket/key?versionId=3", False, {"original": "/bucket/key?versionId=3", "path": "/bucket/key",
                                         "query": "versionId=3"}),
    ("/bucket/key", False, {"original": "/bucket/key", "path": "/bucket/key"}),
])
def test_url_members_keep_the_url_as_logged_and_its_parts_when_present(url, absolute, members):
    assert json.loads("{" + url_members(url, absolute) + "}") == members


# -- detection by pattern -----------------------------------------------------------------------------------


class Named(PatternDetection):
    _KEY = __import__("re").compile(r"_app\.")
    _LINE = __import__("re").compile(r"https? ")


def test_pattern_detection_searches_the_key_anywhere_and_matches_the_line_at_its_start():
    fmt = Named()
    assert fmt.key_matches("prefix/123_app.lb_x.log.gz") and not fmt.key_matches("prefix/123_net.lb.log")
    assert fmt.line_matches("https 2024-01-01T00:00:00Z") and not fmt.line_matches("x https 2024")


# -- SpaceSeparated: fast patterns for lines vouched safe, slow ones (JSON-escaping) for the rest ---------

# A toy format of four fields, two of them required: on the fast path a field is lower-case letters,
# on the slow path any token (escaped, except group 1, which the format escapes itself: `raw`).
TOY = dict(fast=[r"([0-9]+)", r"([a-z]+)", r"([a-z]+)", r"([a-z]+)"],
           slow=[r"([0-9]+)", r"([^ ]+)", r"([^ ]+)", r"([^ ]+)"], required=2, common=3)


@pytest.mark.parametrize("safe", [True, False], ids=["safe", "unsafe"])
@pytest.mark.parametrize(("line", "groups"), [
    ("1 a b c", ("1", "a", "b", "c", None)),
    ("1 a b", ("1", "a", "b", None, None)),
    ("1 a", ("1", "a", None, None, None)),  # only the required fields: the older lines
    ("1 a b c appended later", ("1", "a", "b", "c", "appended later")),
    ("1 a B c", ("1", "a", "B", "c", None)),  # a field the fast pattern refuses: the slow one takes the line
    ("1 a b C", ("1", "a", "b", "C", None)),  # ... also the last field
])
def test_space_separated_gives_the_same_groups_on_either_path(line, groups, safe):
    assert SpaceSeparated(**TOY).groups(line, safe) == groups


def test_space_separated_refuses_a_line_without_its_required_fields_or_with_one_that_breaks_every_pattern():
    fields = SpaceSeparated(**TOY)
    assert fields.groups("1", True) is fields.groups("x a b", True) is fields.groups("x a b", False) is None


def test_space_separated_escapes_the_slow_path_s_groups_except_the_raw_ones_and_what_follows():
    fields = SpaceSeparated(**TOY, raw=frozenset({1}))
    assert fields.groups('1 a"x a\\b "q"', False) == ("1", 'a"x', "a\\\\b", '\\"q\\"', None)
    assert fields.groups('1 a b c "more"', False) == ("1", "a", "b", "c", '"more"')


# -- the one-path helpers' details -----------------------------------------------------------------------

@pytest.mark.parametrize("line", [
    'x a"b c" y',  # a quote inside a token: not a quoted value
    '"b c" x y',  # the quoted value first ...
    'x y "b c"',  # ... or last
    'x "b c" ',  # a trailing space
    'x\xa0y "b c" z\xa0w',  # a no-break space is part of a value; only spaces separate
])
def test_line_tokens_shortcut_for_one_quoted_value_agrees_with_the_slow_tokenizer(line):
    assert line_tokens(line, True) == line_tokens(line, False) == slow_tokens(line)


def test_line_tokens_without_quotes_split_at_spaces_only():
    assert line_tokens("x\xa0y z", True) == line_tokens("x\xa0y z", False) == ["x\xa0y", "z"]
    assert line_tokens("x\ty z", False) == ["x\\ty", "z"]


def test_padded_fields_pad_up_to_the_known_fields_and_keep_what_follows():
    assert padded_fields(["a", "b"], required=1, known=4) == ["a", "b", "-", "-"]
    assert padded_fields(["a", "b", "c"], required=1, known=2) == ["a", "b", "c"]
    with pytest.raises(ParseError, match="expected at least 3 fields, found 2"):
        padded_fields(["a", "b"], required=3, known=4)


def test_an_invalid_field_s_reason_quotes_at_most_60_characters_of_it():
    assert str(invalid_field("backend_port", "9" * 100)) == f"field backend_port is not valid: {'9' * 60!r}"


@pytest.mark.parametrize(("logged", "members"), [
    ("TLSv1.2", '"version_protocol":"tls","version":"1.2"'),
    ("tlsv13", '"version_protocol":"tls","version":"1.3"'),
    ("SSLv3", '"version_protocol":"ssl","version":"3"'),  # no minor version
    ("QUIC", '"version":"QUIC"'),  # a form not seen before is kept whole
])
def test_tls_versions_split_into_protocol_and_version(logged, members):
    assert tls_version_members(logged) == members


def test_extra_fields_keep_a_value_that_only_starts_or_ends_with_a_dash():
    assert extra_fields(["X-", "-x"]) == ',"extra_fields":["X-","-x"]'
    assert extra_fields_member("a\xa0b c") == ',"extra_fields":["a\xa0b","c"]'


def test_a_space_separated_format_escapes_a_line_nobody_vouched_for():
    # The fast pattern takes a backslash (its class only excludes quotes and spaces): only a caller that
    # checked the line may say `safe`; by default the groups are escaped.
    class Toy(SpaceSeparatedFormat):
        _LINE_FIELDS = SpaceSeparated(fast=[r'([^ "]+)'], slow=[r"([^ ]+)"], required=1, common=1)

        def _emit(self, groups):
            return "2026-12-01T00:00:00Z", '"value":"' + groups[0] + '"'

    assert json.loads("{" + Toy().to_json("a\\b")[1] + "}") == {"value": "a\\b"}
