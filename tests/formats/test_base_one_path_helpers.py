"""Helpers base.py gives formats that parse every line on one path (ALB connection and health-check
logs): tokens, IP checks, members for present values, the fields AWS appends."""
from __future__ import annotations

import pytest

from ingest.formats.base import (UnclosedQuote, extra_fields, extra_fields_member, line_tokens, present_members, slow_tokens,
                                 valid_ip)


# --- helpers for formats with one path (ALB connection and health-check logs) ------------------

def test_line_tokens_splits_a_line_around_its_one_quoted_value_as_the_slow_tokenizer_does():
    line = '2023-10-04T17:05:15Z 203.0.113.1 "CN=John Doe,O=Example" FEF2 Success'
    assert line_tokens(line, True) == line_tokens(line, False) == slow_tokens(line) == [
        "2023-10-04T17:05:15Z", "203.0.113.1", "CN=John Doe,O=Example", "FEF2", "Success"]


def test_line_tokens_of_a_format_that_quotes_nothing_keeps_and_escapes_a_quote():
    assert line_tokens('a tg"x b', True, quoted=False) == ["a", 'tg\\"x', "b"]
    with pytest.raises(UnclosedQuote):
        line_tokens('a "tg x b', True)


@pytest.mark.parametrize("text, valid", [
    ("203.0.113.1", True), ("2001:db8::1", True), ("::ffff:192.0.2.1", True),
    ("203.0.113.256", False), ("01.2.3.4", False), ("fe80::1%eth0", False), ("2001:db8:::1", False), ("-", False)])
def test_valid_ip_is_what_an_ip_field_takes(text, valid):
    assert valid_ip(text) is valid


def test_present_members_leave_out_what_aws_logged_as_dash():
    assert present_members((("a", "x"), ("b", "-"))) == ['"a":"x"']
    assert present_members((("n", "1.5"), ("m", "-")), quoted=False) == ['"n":1.5']


def test_extra_fields_keep_values_and_drop_placeholders():
    assert extra_fields(["-", '\\"-\\"', "future"]) == ',"extra_fields":["future"]'
    assert extra_fields(["-", "-"]) == "" and extra_fields([]) == ""


def test_extra_fields_drops_only_dash_placeholders_quoted_or_not_and_keeps_a_lone_backslash():
    assert extra_fields(["-", '\\"-\\"', '-\\"-', "\\\\"]) == ',"extra_fields":["\\\\"]'
    # the one-string form (NLB, Classic) is the same rule on its space-separated tokens
    assert extra_fields_member('- "-" x\\y') == ',"extra_fields":["x\\\\y"]'
    assert extra_fields_member(None) == extra_fields_member("- -") == ""
