"""A line cut inside a quoted field is a failure, never a document.

The last line of a truncated gzip object (and any line cut short) can end inside a quoted field:
`… 0 "DELETE https://www.example.com:443/static/st`. Taken as a line of fewer fields, it would
become a document with shifted fields (method `"DELETE`, the URL as user agent). Every quoted field
must be closed, on the Python paths (fast and slow) and in the C accelerator, which must decline
such a line so that the Python path makes it a failure record.
"""
from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest import bulk
from ingest.formats import ALB, FORMATS, ParseError
from ingest.reader import json_safe

from .conftest import ALB_EXAMPLES, S3_EXAMPLES
from .test_native import accepted, assert_same_bodies, requires_native

S3 = FORMATS["s3-access"]
EXAMPLES = [(ALB, name, line) for name, line in ALB_EXAMPLES.items()] + [
    (S3, name, line) for name, line in S3_EXAMPLES.items()]
QUOTED = re.compile(r'"[^"]*"')

CUT_REQUEST = ('https 2026-11-25T12:41:31.000000Z app/demo-alb/50dc6c495c0c9188 52.233.247.26:60507 '
               '10.0.3.178:8080 0.002 0.171 0.000 204 204 396 0 "DELETE https://www.example.com:443/static/st')


def cuts_inside_quoted_fields(line: str) -> list[str]:
    """Every proper prefix of `line` that ends after the opening quote of one of its quoted fields
    and before its closing quote."""
    return [line[:cut] for m in QUOTED.finditer(line) for cut in range(m.start() + 1, m.end())]


def assert_no_document(fmt, line: str) -> None:
    for safe in (False, True) if json_safe(line.encode()) else (False,):
        with pytest.raises(ParseError, match="ends inside"):
            fmt.to_json(line, safe)


def test_the_alb_line_cut_inside_the_request_is_a_parse_error_not_a_document_with_shifted_fields():
    for safe in (False, True):
        with pytest.raises(ParseError, match="the line ends inside the quoted field request"):
            ALB.to_json(CUT_REQUEST, safe)


@pytest.mark.parametrize("field", [9, 16, 17], ids=["request_uri", "referrer", "user_agent"])
def test_an_s3_line_cut_inside_a_quoted_field_is_a_parse_error(field):
    line = next(iter(S3_EXAMPLES.values()))
    quoted = list(QUOTED.finditer(line))
    assert len(quoted) == 3  # request URI, referrer, user agent
    m = quoted[[9, 16, 17].index(field)]
    assert_no_document(S3, line[:m.start() + 1])
    assert_no_document(S3, line[:m.end() - 1])


@pytest.mark.parametrize("fmt, tail", [(S3, 'eu-west-1 "new val'), (S3, 'eu-west-1 - "'),
                                       (ALB, 'TID_1 "-" "-" "-" 10.1.2.3 "new val'), (ALB, 'TID_1 "-" "-" "-" 10.1.2.3 "-" "')],
                         ids=["s3-access", "s3-access-just-the-quote", "alb", "alb-just-the-quote"])
def test_a_line_cut_inside_a_quoted_field_after_the_known_ones_is_a_parse_error(fmt, tail):
    # The known fields are whole, but the line is not: it must not become a document whose
    # extra_fields hold the pieces of the cut value.
    line = next(iter((ALB_EXAMPLES if fmt is ALB else S3_EXAMPLES).values()))
    assert_no_document(fmt, line.rstrip(" ") + " " + tail)


@pytest.mark.parametrize("fmt, name, line", EXAMPLES, ids=[f"{f.name}-{n}" for f, n, _ in EXAMPLES])
def test_every_cut_of_a_documented_line_inside_a_quoted_field_is_a_parse_error(fmt, name, line):
    cut = cuts_inside_quoted_fields(line)
    assert cut, "the example has no quoted field"
    for prefix in cut:
        assert_no_document(fmt, prefix)


@requires_native
@pytest.mark.parametrize("fmt, name, line", EXAMPLES, ids=[f"{f.name}-{n}" for f, n, _ in EXAMPLES])
def test_the_accelerator_declines_every_cut_of_a_documented_line_inside_a_quoted_field(fmt, name, line):
    cut = cuts_inside_quoted_fields(line)
    assert accepted(fmt, [p.encode() for p in cut]) == [False] * len(cut)
    assert_same_bodies(fmt, cut)


# What a quoted field may hold: spaces, dashes, separators, and backslash-escaped quotes.
CONTENT = st.lists(st.sampled_from(list("aZ09 -/:.,=()") + ["\\\"", "\\\\"]), min_size=1, max_size=30).map("".join)


@given(example=st.sampled_from(EXAMPLES), data=st.data())
def test_a_line_cut_inside_a_quoted_field_of_any_content_never_yields_a_document(example, data):
    fmt, _, line = example
    quoted = list(QUOTED.finditer(line))
    m = quoted[data.draw(st.integers(0, len(quoted) - 1))]
    content = data.draw(CONTENT)
    # The line with that field's content replaced, cut somewhere after its opening quote.
    prefix = line[:m.start()] + '"' + content
    prefix = prefix[:data.draw(st.integers(m.start() + 1, len(prefix)))]
    assert_no_document(fmt, prefix)
    if bulk._native is not None:  # the accelerator must not take the line either
        assert accepted(fmt, [prefix.encode()]) == [False]
        assert_same_bodies(fmt, [prefix])
