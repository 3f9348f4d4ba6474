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

import ipaddress
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


# `TLSv1.2` (ALB, Classic), `tlsv12` (NLB), `SSLv3`: ECS splits them into a protocol and a version.
_TLS_VERSION = re.compile(r"([A-Za-z]+)v([0-9])\.?([0-9])?\Z")


def tls_version_members(logged: str) -> str:
    """JSON members of tls.* for a logged protocol version (`tlsv12` → protocol `tls`, version
    `1.2`); a form not seen before goes whole into tls.version rather than being lost. `logged`
    must already be JSON-safe."""
    m = _TLS_VERSION.match(logged)
    if m is None:
        return '"version":"' + logged + '"'
    protocol, major, minor = m.groups()
    return ('"version_protocol":"' + protocol.lower() + '","version":"' + major
            + ("." + minor if minor is not None else "") + '"')


def extra_fields_member(rest: str | None) -> str:
    """extra_fields for what follows the last known field of a line as one string (its
    space-separated tokens, quotes and all; None: nothing follows)."""
    return "" if rest is None else extra_fields([json_escape(t) for t in rest.split(" ")])


class SpaceSeparated:
    """A line of space-separated fields, matched by fast patterns (classes that exclude quotes,
    for lines the caller vouched free of backslashes and control characters) or else by slow ones
    (whose groups are JSON-escaped here), each pair as line_patterns builds them. The last field's
    pattern must have a group that is set whenever the field matched."""

    def __init__(self, fast: list[str], slow: list[str], required: int, common: int, raw: frozenset[int] = frozenset()):
        self._fast = line_patterns(fast, required, common)
        self._slow = line_patterns(slow, required, common)
        self._raw = raw  # indexes of groups the format escapes itself

    def groups(self, line: str, safe: bool) -> tuple | None:
        """JSON-safe groups, the trailing one (what follows the known fields) left as it is, or None
        when no pattern takes the line whole."""
        if safe:
            m = self._fast[0].match(line) or self._fast[1].match(line)
            # A field that breaks its pattern leaves itself and what follows in the trailing group:
            # only a line that ended, or matched every known field, is taken as it is.
            if m is not None:
                g = m.groups()
                if g[-1] is None or g[-2] is not None:
                    return g
        m = self._slow[0].match(line) or self._slow[1].match(line)
        if m is None:
            return None
        g = m.groups()
        if g[-1] is not None and g[-2] is None:
            return None
        raw = self._raw
        return tuple([v if v is None or i in raw else json_escape(v) for i, v in enumerate(g[:-1])]) + (g[-1],)


class SpaceSeparatedFormat(PatternDetection):
    """A format whose lines SpaceSeparated matches: `_LINE_FIELDS` gives the groups, `_emit(groups)`
    the (timestamp, members), `_why_not(line)` the reason a line that no pattern takes is refused."""

    _LINE_FIELDS: SpaceSeparated

    def to_json(self, line: str, safe: bool = False) -> tuple[str, str]:
        """`safe`: the caller checked that the line has no backslash or control character."""
        g = self._LINE_FIELDS.groups(line, safe)
        if g is None:
            raise ParseError(self._why_not(line))
        return self._emit(g)


def line_tokens(line: str, safe: bool, quoted: bool = True) -> list[str]:
    """The JSON-escaped tokens of a line of space-separated fields, for formats whose lines are
    short enough that one path serves (no separate fast regex): a line without quotes (or of a
    format that quotes nothing, `quoted=False`: a `"` is then part of a value) is split, and
    escaped unless `safe` and quote-free; any other goes through slow_tokens (quotes removed, UnclosedQuote when
    it ends inside a quoted value). Runs of spaces separate like one space, as in slow_tokens."""
    if quoted and '"' in line:
        if safe and line.count('"') == 2:
            # One quoted value (e.g. a connection log's certificate subject), a whole token: split
            # around it instead of tokenizing the line character class by class (3x faster).
            head, value, tail = line.split('"')
            if (not head or head[-1] == " ") and (not tail or tail[0] == " "):
                return [t for t in head.split(" ") if t] + [value] + [t for t in tail.split(" ") if t]
        return slow_tokens(line)
    tokens = [t for t in line.split(" ") if t]
    # `safe` excludes backslashes and control characters, not quotes
    return tokens if safe and '"' not in line else [json_escape(t) for t in tokens]


def padded_fields(tokens: list[str], required: int, known: int) -> list[str]:
    """`tokens` padded with `-` (absent) up to the `known` fields of a format whose first `required`
    fields every line has (ParseError when it has fewer); tokens after the known ones stay."""
    if len(tokens) < required:
        raise ParseError(f"expected at least {required} fields, found {len(tokens)}")
    return tokens + ["-"] * (known - len(tokens)) if len(tokens) < known else tokens


def invalid_field(name: str, token: str) -> ParseError:
    return ParseError(f"field {name} is not valid: {token[:60]!r}")


def present_members(pairs: tuple[tuple[str, str], ...], quoted: bool = True) -> list[str]:
    """`"name":"value"` (or `"name":value` for numbers, `quoted=False`) for each JSON-safe value
    that is not `-` (AWS's "absent")."""
    if quoted:
        return ['"' + name + '":"' + value + '"' for name, value in pairs if value != "-"]
    return ['"' + name + '":' + value for name, value in pairs if value != "-"]


def extra_fields(tokens: list[str]) -> str:
    """`,"extra_fields":[…]` for the JSON-escaped tokens after a format's last known field, or ""
    when they are only `-` placeholders, quoted or not (AWS writes them for fields not yet released),
    or there are none."""
    kept = [t for t in tokens if t.replace('\\"', "").strip("-")]
    return ',"extra_fields":' + json_list(kept) if kept else ""


_IPV4 = re.compile(r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\Z")


def valid_ip(text: str) -> bool:
    """Whether an `ip` field takes `text` (OpenSearch would reject the whole document otherwise)."""
    if _IPV4.match(text):
        return True
    if ":" not in text or "%" in text:  # a zone index (fe80::1%eth0) is no `ip` value either
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
