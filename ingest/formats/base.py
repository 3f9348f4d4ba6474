"""The small interface every log format implements, and helpers the formats share.

A format turns one log line into the JSON *members* of a document (the text between the outer
braces) plus the document's timestamp, without building Python dicts: at 150k+ lines/s per core,
dict building and generic JSON encoding would cost more than everything else together. Two things
make emitting JSON text directly safe:

- a token goes into JSON as it is only when the fast regex captured it (its classes exclude the
  quote) and the caller vouched that the line holds no backslash or control character (`safe`);
  every other token is escaped with `json_escape`;
- every number is matched by a pattern that only lets valid JSON numbers through.
"""
from __future__ import annotations

import re
from typing import Protocol

import orjson


class ParseError(ValueError):
    """The line is not a valid record of the format; the message says why."""


class SkipLine(Exception):
    """The line is no record by the format's own rules (a W3C `#Fields:` header): no document and no
    failure record; the encoder counts it (BulkEncoder.skipped_lines) so the report still accounts for it."""


class LogFormat(Protocol):
    name: str  # command-line name, e.g. "alb"
    title: str  # for people, e.g. "ALB access logs"
    dataset: str  # event.dataset, e.g. "aws.elb"
    index_prefix: str  # default daily index prefix, e.g. "alb-logs"
    # The document fields, declared once (ingest/formats/fields.py): templates, docs and checks come
    # from it. Empty for ALB and S3 access logs, whose templates predate the declarations.
    fields: tuple = ()

    def key_matches(self, key: str) -> bool:
        """Whether an S3 object key is named the way AWS names this format's log objects."""

    def line_matches(self, line: str) -> bool:
        """Whether a line looks like this format (used when the key says nothing)."""

    def to_json(self, line: str, safe: bool = False) -> tuple[str, str]:
        """(`@timestamp` as ISO 8601 UTC, the document's JSON members) or raise ParseError (or
        SkipLine for a line that is no record, e.g. a header).
        `safe`: the caller checked that the line has no backslash or control character."""

    # Optional, for a format whose lines depend on earlier ones (CloudFront's #Fields header names the
    # columns): `for_object()` returns a parser for one object's lines (with to_json as above), and that
    # parser's `observe(raw)` sees each line an earlier part of a resumed object already did.


class PatternDetection:
    """key_matches/line_matches for a format whose objects AWS names after `_KEY` (searched in the
    key) and whose lines start with `_LINE`."""

    _KEY: re.Pattern[str]
    _LINE: re.Pattern[str]

    def key_matches(self, key: str) -> bool:
        return self._KEY.search(key) is not None

    def line_matches(self, line: str) -> bool:
        return self._LINE.match(line) is not None

# A JSON number as a log writes it: no leading zeros (`0080` is not JSON), ASCII digits only.
JSON_INT = r"(?:0|[1-9][0-9]*)"

def line_patterns(fields: list[str], required: int, common: int) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Two regexes for a whole line of space-separated `fields` (each a regex with its groups),
    both ending in a group for whatever follows the last known field, and each field after the
    ones they require optional in turn:

    - the first `common` fields required: the lines of recent years, matched fastest (every
      nested optional group costs);
    - the first `required` fields required: older lines.
    """
    def pattern(n: int) -> re.Pattern[str]:
        optional = ""
        for field in reversed(fields[n:]):
            optional = f"(?: {field}{optional})?"
        return re.compile(" ".join(fields[:n]) + optional + r"(?: (.*))?\Z", re.ASCII)

    return pattern(common), pattern(required)


# Impossible times: the patterns only check the shape (digits where digits belong), so that a
# `2026-13-45T25:61:61` would become an index alb-logs-2026.13.45. Rather than parse a datetime per
# line, the fields are range-checked as strings (two-digit strings compare like their numbers).
# A leap second (`:60`) is impossible too: AWS smears leap seconds (its clocks never show :60),
# Python's datetime rejects it, and OpenSearch's date fields would reject the document.
_MONTH_DAYS = frozenset(f"{m:02d}-{d:02d}" for m, days in enumerate((31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31), 1)
                        for d in range(1, days + 1))  # "MM-DD" of a leap year: 02-29 is checked against the year


def possible_time(iso: str) -> bool:
    """Whether `iso`, `YYYY-MM-DDThh:mm:ss…` with digits where the patterns want them, names a real
    instant: month 01-12, a day its month has (29 February in leap years only), hour 00-23,
    minute and second 00-59."""
    md = iso[5:10]
    if md not in _MONTH_DAYS or iso[11:13] > "23" or iso[14] > "5" or iso[17] > "5":
        return False
    if md == "02-29":
        year = int(iso[:4])
        return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return True


GROUP = re.compile(r"\((?!\?)")


def group_count(pattern: str) -> int:
    return len(GROUP.findall(pattern))


# Slow path: quote-aware tokens; a quoted value may contain backslash-escaped quotes.
_ANY_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|([^ ]+)')  # only spaces separate fields, as on the fast path
_CONTROL = re.compile(r'[\x00-\x1f]')


class UnclosedQuote(ParseError):
    """The line ends inside a quoted value: it was cut short (e.g. the last line of a truncated
    object). Whatever follows the opening quote would shift into the wrong fields."""

    def __init__(self, token: int):
        super().__init__(f"the line ends inside a quoted value (token {token + 1}): cut short?")
        self.token = token  # index of the token the quote opens


def slow_tokens(line: str) -> list[str]:
    """Tokens of a line that failed the fast path, each JSON-escaped, quotes removed.

    A token that opens a quote must close it, else UnclosedQuote."""
    tokens = []
    pos, end = 0, len(line)
    while pos < end:
        if line[pos] == " ":
            pos += 1
            continue
        m = _ANY_TOKEN.match(line, pos)  # never None: any non-space character starts a token
        value = m.group(1)
        if value is None:
            if line[pos] == '"':
                raise UnclosedQuote(len(tokens))
            value = m.group(2)
        tokens.append(json_escape(value))
        pos = m.end()
    return tokens


def json_escape(value: str) -> str:
    """`value` escaped for use between JSON quotes."""
    if _CONTROL.search(value) is None and '"' not in value and "\\" not in value:
        return value
    return orjson.dumps(value)[1:-1].decode()


def json_list(tokens: list[str]) -> str:
    """A JSON array of already-escaped strings."""
    return '["' + '","'.join(tokens) + '"]'


def split_request(request: str) -> tuple[str, str, str]:
    """(method, url, protocol) of a request line, split at the first and last space, so that a URL
    with unencoded spaces stays whole and a malformed `- http://host:80- -` still splits."""
    method, _, rest = request.partition(" ")
    url, sep, protocol = rest.rpartition(" ")
    if not sep:
        url, protocol = rest, ""
    return method, url, protocol


# scheme://host[:port][/path][?query]; a host may be a bracketed IPv6 literal.
_ABSOLUTE_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://(\[[^\]/]*\]|[^/?:]*)(?::(0|[1-9][0-9]*))?(/[^?]*)?(?:\?(.*))?\Z")


def url_members(url: str, absolute: bool) -> str:
    """JSON members of `url` (original, and scheme, domain, port, path, query where present),
    stored as logged: no decoding. `absolute` for URLs with a scheme and host (ALB); S3 logs carry
    only path and query. `url` must already be JSON-safe."""
    if absolute:
        m = _ABSOLUTE_URL.match(url)
        if m is None:  # e.g. the `http://host:80-` of a malformed request
            return '"original":"' + url + '"'
        scheme, host, port, path, query = m.groups()
        out = '"original":"' + url + '","scheme":"' + scheme + '"'
        if host:
            out += ',"domain":"' + (host[1:-1] if host[:1] == "[" else host) + '"'
        if port is not None:
            out += ',"port":' + port
    else:
        path, _, query = url.partition("?")
        out = '"original":"' + url + '"'
    if path:
        out += ',"path":"' + path + '"'
    if query:
        out += ',"query":"' + query + '"'
    return out
