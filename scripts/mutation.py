"""Mutation testing of the core modules, each against its own tests (mutmut), with a score per module.

    .venv/bin/python scripts/mutation.py                        # every core module (about an hour on 2 cores)
    .venv/bin/python scripts/mutation.py ingest/events.py       # one module (10 s to 4 min; pipeline 11 min,
                                                                #   shipper 30 min at --jobs 1), before committing it
    .venv/bin/python scripts/mutation.py --show ingest/bulk.py  # also print the diff of every survivor
    .venv/bin/python scripts/mutation.py --again ingest/shipper.py  # only the last run's survivors, against
                                                                #   the tests as they are now (see below)
    .venv/bin/python scripts/mutation.py --resume ingest/shipper.py # the mutants a run stopped by its --budget
                                                                #   did not reach (nothing left: just the score)
    git archive main tests | tar -x -C /tmp/before              # a score "before": the tests of another commit
    .venv/bin/python scripts/mutation.py --tests-from /tmp/before/tests ingest/pipeline.py
    (`make mutation`, `make mutation MODULE=ingest/events.py` run the same)

A mutant is a one-line change to a module (a flipped comparison, a constant changed, an argument
dropped...). It is killed when one of the module's own tests (MODULES below) fails on it, or runs
past its time limit; the score is the killed share. A mutant no own test reaches counts as surviving. Every run starts afresh: a
cached verdict would not see a test added since. `--again` is the exception, for working down a survivor list: it
keeps the last run's kills and tests only its survivors again, with the tests as they are now (new tests
included). That holds while tests are only added or sharpened (a kill stands); after a test was removed,
weakened or the module changed, run afresh. A full run is the reference for a score that is reported.
`--resume` goes on with a run its --budget stopped (a loaded machine), with the same tests; `--tests-from`
runs another tests/ folder (e.g. an earlier commit's, exported) for a score before a change of the tests.

Each module runs in its own work directory, .mutation/<name>/ (ignored by git): a pyproject.toml with
that module's mutmut settings and links to ingest/, tests/ and scripts/; mutmut copies them to
.mutation/<name>/mutants/ and mutates the copy, never the source tree. The copy includes the C
accelerator (ingest/_native.abi3.so, built by scripts/build_native.py), so both paths of the bulk
encoder are exercised, as in `make test`; with INGEST_NATIVE=0 in the environment every line takes
the Python path. To look at a survivor afterwards:
`cd .mutation/events && ../../.venv/bin/mutmut show ingest.events.x__collect__mutmut_7`.

EQUIVALENT lists the surviving mutants that no test can kill because they do not change behaviour,
each with its reason; they are reported apart, never silenced, and an entry whose mutant is killed or
gone is reported as stale. Exit status: 0 when every module run reached the target score (after
setting the listed equivalents aside), 1 otherwise, 2 when mutmut itself failed.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".mutation"
TARGET = 85.0  # per module, issue 15

# Each core module and its own tests: the tests that specify it, not those that reach it through
# another module (a pipeline test that happens to call parse_event does not pin events.py down).
MODULES: dict[str, list[str]] = {
    "ingest/events.py": ["tests/test_events.py"],
    "ingest/reader.py": ["tests/formats/test_reader.py"],
    "ingest/bulk.py": ["tests/formats/test_bulk.py", "tests/formats/test_cut_lines.py", "tests/formats/test_enrich.py"],
    "ingest/enrich.py": ["tests/formats/test_enrich.py"],
    # The registry: detection (test_detect), the settings each format gets (test_config), CloudFront's
    # per-object parser (test_cloudfront).
    "ingest/formats/__init__.py": ["tests/formats/test_detect.py", "tests/test_config.py",
                                   "tests/formats/test_cloudfront.py"],
    # The shared helpers: specified by their own tests and by the formats they were written for.
    "ingest/formats/base.py": ["tests/formats/test_base.py", "tests/formats/test_base_one_path_helpers.py",
                               "tests/formats/test_detect.py", "tests/formats/test_cut_lines.py",
                               "tests/formats/test_alb.py", "tests/formats/test_s3access.py",
                               "tests/formats/test_nlb.py", "tests/formats/test_clb.py",
                               "tests/formats/test_alb_connection.py", "tests/formats/test_alb_health_check.py",
                               "tests/formats/test_cloudfront.py"],
    "ingest/formats/alb.py": ["tests/formats/test_alb.py", "tests/formats/test_cut_lines.py"],
    "ingest/formats/s3access.py": ["tests/formats/test_s3access.py", "tests/formats/test_cut_lines.py"],
    "ingest/formats/nlb.py": ["tests/formats/test_nlb.py", "tests/formats/test_no_line_raises.py"],
    "ingest/formats/clb.py": ["tests/formats/test_clb.py", "tests/formats/test_no_line_raises.py"],
    "ingest/formats/alb_connection.py": ["tests/formats/test_alb_connection.py",
                                         "tests/formats/test_alb_connection_and_health_check_no_line_raises.py"],
    "ingest/formats/alb_health_check.py": ["tests/formats/test_alb_health_check.py",
                                           "tests/formats/test_alb_connection_and_health_check_no_line_raises.py"],
    "ingest/formats/cloudfront.py": ["tests/formats/test_cloudfront.py", "tests/formats/test_cloudfront_values.py"],
    # The pipeline's own tests, not the handler's and the CLI's (they reach it through another module,
    # and took 100 s a surviving mutant); the mode-doubling fixture's background-sender half is left out
    # (test_background_sender.py holds the sender's own tests, both modes): each survivor runs in 20 s.
    "ingest/pipeline.py": ["tests/pipeline/test_pipeline.py", "tests/pipeline/test_accounting.py",
                           "tests/pipeline/test_background_sender.py", "tests/pipeline/test_damaged_objects.py",
                           "tests/pipeline/test_object_edges.py", "tests/pipeline/test_resume.py",
                           "-k", "not background-sender"],
    "ingest/shipper.py": ["tests/shipper"],
}

# Surviving mutants that are equivalent to the original (no input can tell them apart), by mutant
# name: (a piece of the mutated line, so that an entry goes stale when the code moves, the reason).
_FALSY = "None is as false as False wherever the flag is read (only by `if`/`or`)"
_SLOWER = "sends some lines the slow way, which gives the same document: only speed differs"
_SHORTCUT = ("the shortcut only skips the tokenizer on a tail of `-` and `\"-\"` placeholders; without it the "
             "tokenizer runs and the filter drops the same tokens")
_ESCAPED = ("every token is escaped even on a line the caller vouched for: escaping a token without quotes, "
            "backslashes or control characters leaves it as it is, so only speed differs")
_CACHE = "bypasses a cache that only saves work: the value is computed afresh, the same"
_BOUND = "moves a cache's bound by one entry: only memory differs, a cleared cache is rebuilt the same"
_NO_YEAR_OUT = ("unreachable: the pattern admits no minus sign, so the year is 1970 or later, and datetime "
                "raises (caught above) before a year past 9999")
_REPR = "str() and repr() of an int, or of a float, are the same text"
_EVERY_VALUE = ("an index is always within the values: a W3C line with fewer values than its columns is refused "
                "before, and a JSON record has one value per key")
_UNREAD = "the CloudFront parsers check each line themselves and never read `safe`"
_SKIP_TEXT = "SkipLine's text is never read: the encoder only counts the line"
_NO_TYPE = ('an error without a "type" (or one that is no object) reads as None or "XXXX" instead of "": none is a '
            'retryable type nor a cluster block')
_TROUBLED = ("_wait follows only a failed attempt, and every failed attempt leaves _trouble set (a connection "
             "failure cut short by the deadline keeps the one before, set too): the \"?\" is never read")
_NO_REASON = 'a 403 error without a "reason" reads as "None" instead of "": neither holds "throttl"'
_NO_FIRST_LINE = ("the default stands for no first line (no batch, or only empty lines): a first line of XXXX is "
                  "no known log either, and detect refuses both with the same text")
_BEFORE_AFTER = ("the default is read both before and after the object for a sink whose stats lack the counter: "
                 "only their difference is reported, 0 either way")
_JSON_CHECK = ("the reader's JSON-safety flag only lets an encoder skip escaping lines found safe: checking where the "
               "accelerator checks anyway, or not checking (every token escaped on the Python path), gives the "
               "same documents; only speed differs")
_BOTOCORE_ERROR = ("botocore gives every ClientError's response an Error member (for an answer without a body, "
                   "the status code as its Code)")
_WHOLE_REQUEST = "_settle reads unsent=None as every item of the request, which is what is passed"
_ITEM_BY_ITEM = ("a batch of exactly the bound goes the item-by-item way, which takes the same items (all of them "
                 "fit): the same request, only speed differs")
_JOINED_AFRESH = "_post joins the body afresh from the same items: the same bytes, only speed differs"
_FIELD_NAME = "HTTP field names are case-insensitive (RFC 9110, 5.1)"
_DONE_AFTER = ("done_after is read only through encode_lines(done_line, done_after), which drops every line up to "
               "done_line: done_line itself in the set changes nothing")
_SPLIT_NOT_READ = ("with nothing to retry (answered in full, or split after a 413) send neither reads `answered` "
                   "(it passes True itself) nor waits, which alone reads `unreachable`")
_HTTP_DETAIL = "this branch is for HTTP statuses, not connection errors: _error_detail shows the url only for the latter"
_SSL_DETAIL = ("the request errors not retried are HTTP statuses and SSL failures; _error_detail shows the url only "
               "in a known connection cause (refused, reset, timed out...), and urllib3 2 raises a timed-out or "
               "reset handshake as a timeout or connection error (retried), so no SSL failure's text names one")
_NO_SHARE_YET = "the share is only compared with 1.0 (`share < 1.0`): 2.0 and 1.0 both mean \"no stall excuse\""
_EXACT_EVIDENCE = ("equality needs blind x -log1p(-share) to be exactly the float 4.6; no share k/n (n <= 3000) and "
                   "count of misses gives it (searched), and the side the exact boundary falls on means nothing")
_RESET_BY_SEND = "send sets it to 0 before anything reads it (each send starts the stall count afresh)"
_SET_BEFORE_READ = "set before every request (_attempt, _post) or right after it (send), before anything reads it"
_CLIENT_DEFAULT = "opensearch-py's own default is the same (http_compress None, retry_on_timeout False)"
_PER_REQUEST_TIMEOUT = "every request passes its own timeout (_post), which overrides the client's"
_NO_TRANSPORT_RETRY = "with max_retries=0 the transport retries nothing, timeouts included"
_POOL_HAS = ("the getattr defaults are never taken: opensearch-py's pools (DummyConnectionPool for one host) all "
             "have `connections`, and the client's connection class (RequestsHttpConnection) a `session`")
EQUIVALENT: dict[str, tuple[str, str]] = {
    # reader.py
    "ingest.reader.x_line_batches__mutmut_9": (
        "while 0 <= len(chunk) < len(GZIP_MAGIC)",
        "an empty first read makes one more read, which is empty too (a stream at its end stays there): no lines"),
    "ingest.reader.x_line_batches__mutmut_10": (
        "while 0 < len(chunk) <= len(GZIP_MAGIC)",
        "a first read of exactly 2 bytes reads once more; the magic is chunk[:2] either way"),
    "ingest.reader.x_line_batches__mutmut_22": (
        'pending = None', "pending is only tested for truth until it is first replaced by bytes"),
    "ingest.reader.x__batches__mutmut_18": (
        "if len(data) <= max_line_bytes and max(map(len, lines)) <= max_line_bytes:",
        "with no line over the limit, the line-by-line path yields the same one batch (all(json_safe) of the "
        "lines is json_safe of the batch: the newline is JSON-safe)"),
    "ingest.reader.x__batches__mutmut_19": (
        "if len(data) < max_line_bytes or", "the same: a batch of exactly the limit holds no line over it"),
    "ingest.reader.x__batches__mutmut_25": (
        "max(map(len, lines)) < max_line_bytes:",
        "the same: a longest line of exactly the limit is not overlong on the line-by-line path either"),
    "ingest.reader.xǁOverlongLineǁ__init____mutmut_8": ("self._cr = None", _FALSY),
    "ingest.reader.xǁOverlongLineǁend__mutmut_1": ("self._cr = None", "nothing is fed to a line after end()"),
    "ingest.reader.xǁOverlongLineǁend__mutmut_2": ("self._cr = True", "nothing is fed to a line after end()"),
    "ingest.reader.xǁOverlongLineǁfeed__mutmut_12": (
        "if len(self.prefix) <= OVERLONG_PREFIX_BYTES:",
        "at exactly OVERLONG_PREFIX_BYTES the slice taken is data[:0]: nothing is added"),
    "ingest.reader.xǁ_Gunzipǁ__init____mutmut_3": (
        "zlib.decompressobj(32)",
        "wbits 32 detects gzip or zlib by the header; the first member starts with the gzip magic (checked "
        "before _Gunzip is made), so it is read as gzip either way"),
    "ingest.reader.xǁ_Gunzipǁ__init____mutmut_4": ("self._padding = None", _FALSY),
    "ingest.reader.xǁ_Gunzipǁfeed__mutmut_15": (
        "self._padding = None",
        "the flag only short-cuts later reads: a finished zlib object keeps every later byte as unused_data, "
        "which the next feed checks for zeros the same way, and finished is true by eof"),
    "ingest.reader.xǁ_Gunzipǁfeed__mutmut_16": ("self._padding = False", "as for feed__mutmut_15"),
    # bulk.py
    "ingest.bulk.xǁBulkEncoderǁ__init____mutmut_14": (
        "self._batch: list[BulkItem] = None",
        "encode() and encode_overlong() set _batch before anything reads it"),
    "ingest.bulk.xǁBulkEncoderǁ__init____mutmut_63": (
        "self._failures = 1", "only differences of the counter are ever returned (failures in this batch)"),
    "ingest.bulk.xǁBulkEncoderǁ_encode_line__mutmut_11": (
        'raw.decode("UTF-8", "backslashreplace")', "codec names are case-insensitive"),
    "ingest.bulk.xǁBulkEncoderǁencode_overlong__mutmut_20": (
        'line.prefix.decode("UTF-8", "backslashreplace")', "codec names are case-insensitive"),
    "ingest.bulk.xǁBulkEncoderǁencode__mutmut_22": (
        "lines if (isinstance(lines, list)) and False else list(lines)",
        "a copy of a list of lines holds the same lines"),
    "ingest.bulk.xǁBulkEncoderǁindex_for__mutmut_3": (
        "index = None", "_indices is only a cache: the index is rebuilt from the same day"),
    "ingest.bulk.xǁBulkEncoderǁindex_for__mutmut_4": (
        "index = self._indices.get(None)", "_indices is only a cache: the index is rebuilt from the same day"),
    # formats: the fast path is an optimisation of the slow one (every parser test checks that both give
    # the same document), so a mutant that only sends more lines the slow way changes nothing but speed
    "ingest.formats.base.xǁLogFormatǁto_json__mutmut_1": (
        "def to_json(self, line: str, safe: bool = True)",
        "the LogFormat Protocol's method is never called: it only declares what a format implements"),
    "ingest.formats.base.xǁSpaceSeparatedFormatǁto_json__mutmut_4": (
        "g = self._LINE_FIELDS.groups(line, None)", _SLOWER),
    "ingest.formats.base.xǁSpaceSeparatedǁ__init____mutmut_3": (
        "self._fast = line_patterns(fast, None, common)",
        _SLOWER + " (the fast patterns then require every field)"),
    "ingest.formats.base.xǁSpaceSeparatedǁgroups__mutmut_1": ("m = None", _SLOWER),
    "ingest.formats.base.xǁSpaceSeparatedǁgroups__mutmut_2": (
        "m = self._fast[0].match(line) and self._fast[1].match(line)",
        _SLOWER + " (a line the first pattern takes, the second takes with the same groups)"),
    "ingest.formats.base.xǁSpaceSeparatedǁgroups__mutmut_4": (
        "m = self._fast[1].match(line) or self._fast[1].match(line)",
        "the second pattern takes every line the first does, with the same groups: only speed differs"),
    "ingest.formats.base.xǁSpaceSeparatedǁgroups__mutmut_9": ("if g[-1] is None and g[-2] is not None:", _SLOWER),
    "ingest.formats.base.xǁSpaceSeparatedǁgroups__mutmut_10": (
        "if g[+1] is None or g[-2] is not None:", _SLOWER + " (g[1], a required field, is never None)"),
    "ingest.formats.base.xǁSpaceSeparatedǁgroups__mutmut_19": (
        "m = self._slow[1].match(line) or self._slow[1].match(line)",
        "the second pattern takes every line the first does, with the same groups: only speed differs"),
    "ingest.formats.base.x_line_tokens__mutmut_7": ("if safe and line.count('XX\"XX') == 2:", _SLOWER),
    "ingest.formats.base.x_line_tokens__mutmut_19": (
        'if (not head or head[-1] == "XX XX")', _SLOWER + " (the slow tokenizer splits the same tokens)"),
    "ingest.formats.base.x_line_tokens__mutmut_23": (
        'and (not tail or tail[0] != " ")',
        "the slow tokenizer also ends a quoted value at its closing quote, glued to what follows or not"),
    "ingest.formats.base.x_line_tokens__mutmut_24": (
        'and (not tail or tail[0] == "XX XX")', _SLOWER + " (the slow tokenizer splits the same tokens)"),
    "ingest.formats.base.x_line_tokens__mutmut_35": (
        "if (safe and '\"' not in line) and False else", _ESCAPED),
    "ingest.formats.base.x_padded_fields__mutmut_4": (
        "if (len(tokens) < known) or True else tokens", 'padding by a negative count adds nothing: ["-"] * -2 == []'),
    "ingest.formats.base.x_padded_fields__mutmut_9": (
        "if len(tokens) <= known else tokens", 'padding by zero adds nothing: ["-"] * 0 == []'),
    "ingest.formats.alb.xǁAlbFormatǁto_json__mutmut_2": ("m = None", _SLOWER),
    "ingest.formats.alb.xǁAlbFormatǁto_json__mutmut_3": (
        "m = _FAST_RECENT.match(line) and _FAST_ANY.match(line)", _SLOWER),
    "ingest.formats.alb.xǁAlbFormatǁto_json__mutmut_8": (
        "(m.group(_GROUPS + 1) is None and m.group(_GROUPS) is not None)", _SLOWER),
    "ingest.formats.alb.x__emit__mutmut_348": ('if (rest.replace(\'"-"\', "").strip(" -")) or True', _SHORTCUT),
    "ingest.formats.alb.x__emit__mutmut_350": ('rest.replace(\'"-"\', "").strip(None)', _SHORTCUT),
    "ingest.formats.alb.x__emit__mutmut_355": ("rest.replace('XX\"-\"XX', \"\")", _SHORTCUT),
    "ingest.formats.alb.x__emit__mutmut_356": ('rest.replace(\'"-"\', "XXXX")', _SHORTCUT),
    "ingest.formats.s3access.xǁS3AccessFormatǁto_json__mutmut_2": ("m = None", _SLOWER),
    "ingest.formats.s3access.xǁS3AccessFormatǁto_json__mutmut_3": (
        "m = _FAST_RECENT.match(line) and _FAST_ANY.match(line)", _SLOWER),
    "ingest.formats.s3access.xǁS3AccessFormatǁto_json__mutmut_8": ("if g[-1] is None and g[-2] is not None:", _SLOWER),
    "ingest.formats.s3access.xǁS3AccessFormatǁto_json__mutmut_9": (
        "if g[+1] is None or g[-2] is not None:", _SLOWER + " (g[1], the bucket, is never None)"),
    "ingest.formats.s3access.x__emit__mutmut_33": (
        'if request_uri is not None and request_uri != "XX-XX":',
        'a request of "-" splits into the method "-" and nothing else, which are dropped as placeholders anyway'),
    "ingest.formats.s3access.x__emit__mutmut_115": ("url_members(url, None)", _FALSY),
    "ingest.formats.s3access.x__timestamp__mutmut_10": (
        'if offset == "XX+0000XX":', "the +0000 shortcut: the general conversion writes the same text"),
    # formats: nlb, clb, alb_connection, alb_health_check, cloudfront
    "ingest.formats.clb.x__emit__mutmut_43": (
        'else ("", "", "XXXX")', 'the protocol of a placeholder request is only read as protocol[:5] == "HTTP/"'),
    "ingest.formats.alb_connection.x__emit__mutmut_166": ("quoted=None)", _FALSY),
    "ingest.formats.alb_connection.xǁAlbConnectionFormatǁto_json__mutmut_4": (
        "tokens = line_tokens(line, None)", _ESCAPED),
    "ingest.formats.alb_health_check.x__emit__mutmut_80": ("quoted=None)", _FALSY),
    "ingest.formats.alb_health_check.xǁAlbHealthCheckFormatǁto_json__mutmut_4": (
        "tokens = line_tokens(line, None, quoted=False)", _ESCAPED),
    "ingest.formats.alb_health_check.xǁAlbHealthCheckFormatǁto_json__mutmut_5": (
        "tokens = line_tokens(line, safe, quoted=None)", _FALSY),
    "ingest.formats.cloudfront.x__decoded__mutmut_1": (
        'text = None', _CACHE),
    "ingest.formats.cloudfront.x__decoded__mutmut_2": (
        'text = _DECODED.get(None)', _CACHE),
    "ingest.formats.cloudfront.x__decoded__mutmut_4": (
        'if len(_DECODED) > 4096:', _BOUND),
    "ingest.formats.cloudfront.x__decoded__mutmut_5": (
        'if len(_DECODED) >= 4097:', _BOUND),
    "ingest.formats.cloudfront.x__decoded__mutmut_12": (
        'if ("%" in value) or True else value', "unquote() of a value without `%` is the value itself"),
    "ingest.formats.cloudfront.x__emit__mutmut_24": (
        'text = convert(value, None)', _ESCAPED),
    "ingest.formats.cloudfront.x__text__mutmut_4": (
        '(value if (safe) and False else json_escape(value))', _ESCAPED),
    "ingest.formats.cloudfront.x__http_version__mutmut_2": (
        'value[:5] == "HTTP/" else value, None)', _ESCAPED),
    "ingest.formats.cloudfront.x__tls__mutmut_5": (
        'return _text(value, None)', _ESCAPED),
    "ingest.formats.cloudfront.x__to_json__mutmut_20": (
        'return _emit(values, columns, None)', _ESCAPED),
    "ingest.formats.cloudfront.x__from_json__mutmut_32": (
        'return _emit(values, columns, None)', _FALSY),
    "ingest.formats.cloudfront.x__epoch__mutmut_18": (
        'if not 1970 <= moment.year <= 10000:', "datetime holds no year past 9999: fromtimestamp raises first (caught above)"),
    "ingest.formats.cloudfront.x__epoch__mutmut_19": (
        'raise ParseError(None)', _NO_YEAR_OUT),
    "ingest.formats.cloudfront.x__epoch__mutmut_20": (
        'raise ParseError(f"timestamp {value[:41]!r} is out of range")', _NO_YEAR_OUT),
    "ingest.formats.cloudfront.x__from_json__mutmut_15": (
        'value if (isinstance(value, str)) and False else', "str() of a str is the str itself"),
    "ingest.formats.cloudfront.x__from_json__mutmut_17": (
        'repr(value) if (isinstance(value, float)) and False else str(value)', _REPR),
    "ingest.formats.cloudfront.x__from_json__mutmut_18": (
        'repr(value) if (isinstance(value, float)) or True else str(value)', _REPR),
    "ingest.formats.cloudfront.x__from_json__mutmut_23": (
        'columns = None', _CACHE),
    "ingest.formats.cloudfront.x__from_json__mutmut_24": (
        'columns = _JSON_COLUMNS.get(None)', _CACHE),
    "ingest.formats.cloudfront.x__from_json__mutmut_26": (
        'if len(_JSON_COLUMNS) >= 64:', _BOUND),
    "ingest.formats.cloudfront.x__from_json__mutmut_27": (
        'if len(_JSON_COLUMNS) > 65:', _BOUND),
    "ingest.formats.cloudfront.x__nest__mutmut_3": (
        'out = \',"source":{\' + ",".join(g[_SOURCE]) + "}"', "source is the first group: out is still empty, so = and += give the same"),
    "ingest.formats.cloudfront.x__nest__mutmut_21": (
        '"XX,XX".join(g[_BODY])', "the body group holds one member (sc-content-len, filled once): a join of one"),
    "ingest.formats.cloudfront.x__timestamp__mutmut_6": (
        'index <= len(values) and values[index]', _EVERY_VALUE),
    "ingest.formats.cloudfront.x__timestamp__mutmut_19": (
        'columns.date_index <= len(values) else', _EVERY_VALUE),
    "ingest.formats.cloudfront.x__timestamp__mutmut_26": (
        'columns.time_index <= len(values) else', _EVERY_VALUE),
    "ingest.formats.cloudfront.xǁCloudFrontFormatǁto_json__mutmut_1": (
        'safe: bool = True', _UNREAD),
    "ingest.formats.cloudfront.xǁCloudFrontFormatǁto_json__mutmut_3": (
        'if (line[:1] == "#") or True else', "an object parser on the legacy columns reads a record as the legacy columns do"),
    "ingest.formats.cloudfront.xǁCloudFrontFormatǁto_json__mutmut_5": (
        '_Object(_LEGACY).to_json(line, None)', _UNREAD),
    "ingest.formats.cloudfront.xǁCloudFrontFormatǁto_json__mutmut_7": (
        '_Object(_LEGACY).to_json(line, )', _UNREAD),
    "ingest.formats.cloudfront.xǁCloudFrontFormatǁto_json__mutmut_8": (
        '_Object(None).to_json(line, safe)', "a header line is skipped before the parser reads its columns"),
    "ingest.formats.cloudfront.xǁ_Columnsǁ__init____mutmut_1": (
        'self.names = None', "names is kept for people reading a parser; the code never reads it"),
    "ingest.formats.cloudfront.xǁ_Objectǁobserve__mutmut_12": (
        'raw.decode("UTF-8", "replace")', "codec names are case-insensitive"),
    "ingest.formats.cloudfront.xǁ_Objectǁto_json__mutmut_1": (
        'safe: bool = True', _UNREAD),
    "ingest.formats.cloudfront.xǁ_Objectǁto_json__mutmut_6": (
        'raise SkipLine(None)', _SKIP_TEXT),
    "ingest.formats.cloudfront.xǁ_Objectǁto_json__mutmut_7": (
        'raise SkipLine("XXa W3C header lineXX")', _SKIP_TEXT),
    "ingest.formats.cloudfront.xǁ_Objectǁto_json__mutmut_8": (
        'raise SkipLine("a w3c header line")', _SKIP_TEXT),
    "ingest.formats.cloudfront.xǁ_Objectǁto_json__mutmut_9": (
        'raise SkipLine("A W3C HEADER LINE")', _SKIP_TEXT),
    # pipeline.py
    "ingest.pipeline.x_decode_lines__mutmut_13": (
        "for b in range(9) if byte >> b & 1", "a byte has no ninth bit: byte >> 8 is 0"),
    "ingest.pipeline.x__choose_format__mutmut_18": ('if line), b"XXXX") if first else b""', _NO_FIRST_LINE),
    "ingest.pipeline.x__choose_format__mutmut_19": ('if line), b"") if first else b"XXXX"', _NO_FIRST_LINE),
    "ingest.pipeline.x__choose_format__mutmut_30": (
        'first_line.decode("UTF-8", "replace")', "codec names are case-insensitive"),
    "ingest.pipeline.x__throttling__mutmut_2": (
        "if (stats) or True else (0, 0.0)", "getattr of a sink without stats (None) gives the defaults, (0, 0.0)"),
    "ingest.pipeline.x__throttling__mutmut_11": ('getattr(stats, "throttled_items", 1)', _BEFORE_AFTER),
    "ingest.pipeline.x__throttling__mutmut_20": ('getattr(stats, "backoff_seconds", 1.0)', _BEFORE_AFTER),
    "ingest.pipeline.x__throttling__mutmut_21": ("if stats else (1, 0.0)", _BEFORE_AFTER),
    "ingest.pipeline.x__throttling__mutmut_22": ("if stats else (0, 1.0)", _BEFORE_AFTER),
    "ingest.pipeline.x_process_object__mutmut_164": (
        "if shipment is not None or shipment.done_line is not None:",
        "DeadlineExceeded comes only from a send, which only the shipment makes, and the shipment sets done_line "
        "before it re-raises: whenever this branch runs, both halves are true"),
    "ingest.pipeline.x_process_object__mutmut_57": ("check_json_safe=None)", _JSON_CHECK),
    "ingest.pipeline.x_process_object__mutmut_60": (")", _JSON_CHECK),  # check_json_safe dropped: its default, True
    "ingest.pipeline.x_process_object__mutmut_61": ("check_json_safe=takes_native_path(options.include_raw))", _JSON_CHECK),
    "ingest.pipeline.x_process_object__mutmut_62": ("check_json_safe=not takes_native_path(None))", _JSON_CHECK),
    "ingest.pipeline.xǁS3Objectǁopen__mutmut_9": ('error.response.get("Error", None)', _BOTOCORE_ERROR),
    "ingest.pipeline.xǁS3Objectǁopen__mutmut_11": ('error.response.get("Error", )', _BOTOCORE_ERROR),
    "ingest.pipeline.xǁ_Senderǁ__init____mutmut_6": ("self._failed = None", _FALSY),
    "ingest.pipeline.xǁ_Shipmentǁ__init____mutmut_1": (
        "background: bool = True", "process_object, the one caller, always passes `background`"),
    "ingest.pipeline.xǁ_Shipmentǁ__init____mutmut_9": (
        "self.done_after: set[int] = None", "_stop sets done_after before anything reads it"),
    "ingest.pipeline.xǁ_Shipmentǁ__init____mutmut_10": (
        "self.done_before: set[int] = None", "process_object sets done_before right after making the shipment"),
    "ingest.pipeline.xǁ_Shipmentǁ_send__mutmut_12": ("cause() if cause else None, None)", _WHOLE_REQUEST),
    "ingest.pipeline.xǁ_Shipmentǁ_send__mutmut_15": ("cause() if cause else None, )", _WHOLE_REQUEST),
    "ingest.pipeline.xǁ_Shipmentǁ_stop__mutmut_17": (
        "if item.line_number <= self.done_line], [], )", "dated=True is _count's default"),
    "ingest.pipeline.xǁ_Shipmentǁ_stop__mutmut_22": ("dated=None)", _FALSY),
    "ingest.pipeline.xǁ_Shipmentǁ_stop__mutmut_40": (
        "if item.line_number >= self.done_line}", _DONE_AFTER),
    "ingest.pipeline.xǁ_Shipmentǁ_stop__mutmut_43": ("if n >= self.done_line}", _DONE_AFTER),
    # shipper.py
    "ingest.shipper.xǁOpenSearchSinkǁ_take__mutmut_17": ("if len(pending) < max_docs:", _ITEM_BY_ITEM),
    "ingest.shipper.xǁOpenSearchSinkǁ_take__mutmut_21": ("if len(body) < max_bytes:", _ITEM_BY_ITEM),
    "ingest.shipper.xǁOpenSearchSinkǁ_take__mutmut_24": ("self._joined = None", _JOINED_AFRESH),
    "ingest.shipper.xǁOpenSearchSinkǁ_post__mutmut_3": ("joined[0] is pending) and False else", _JOINED_AFRESH),
    "ingest.shipper.xǁOpenSearchSinkǁ_post__mutmut_8": ("joined[1] is pending else", _JOINED_AFRESH),
    "ingest.shipper.xǁOpenSearchSinkǁ_post__mutmut_9": (
        "joined[0] is not pending else",
        "_joined is set only by _take and taken by the next _post, which sends the batch _take returned: the "
        "mutated test is always false there, so the body is joined afresh from the same items (only speed differs)"),
    "ingest.shipper.xǁOpenSearchSinkǁ_post__mutmut_56": ('"CONTENT-TYPE": "application/x-ndjson"', _FIELD_NAME),
    "ingest.shipper.xǁOpenSearchSinkǁ_post__mutmut_60": ('"CONTENT-ENCODING": "gzip"', _FIELD_NAME),
    "ingest.shipper.xǁOpenSearchSinkǁ_post__mutmut_64": ('"ACCEPT-ENCODING": "gzip"', _FIELD_NAME),
    "ingest.shipper.xǁOpenSearchSinkǁsend__mutmut_51": (
        "self._judge(len(batch), settled, answered=None)",
        "called only when something was settled, and then _judge does not read `answered`"),
    "ingest.shipper.xǁOpenSearchSinkǁ_attempt__mutmut_23": ("return None, len(too_large), False, False", _SPLIT_NOT_READ),
    "ingest.shipper.xǁOpenSearchSinkǁ_attempt__mutmut_24": ("return None, len(too_large), True, True", _SPLIT_NOT_READ),
    "ingest.shipper.xǁOpenSearchSinkǁ_attempt__mutmut_89": ("return None, settled, False, False", _SPLIT_NOT_READ),
    "ingest.shipper.xǁOpenSearchSinkǁ_attempt__mutmut_90": ("return None, settled, True, True", _SPLIT_NOT_READ),
    "ingest.shipper.xǁOpenSearchSinkǁ_attempt__mutmut_34": ("_error_detail(error, None)) from None", _SSL_DETAIL),
    "ingest.shipper.xǁOpenSearchSinkǁ_attempt__mutmut_36": ("_error_detail(error, )) from None", _SSL_DETAIL),
    "ingest.shipper.xǁOpenSearchSinkǁ_attempt__mutmut_45": ('failure = f"HTTP {status}: {_error_detail(error, None)}"',
                                                            _HTTP_DETAIL),
    "ingest.shipper.xǁOpenSearchSinkǁ_attempt__mutmut_47": ('failure = f"HTTP {status}: {_error_detail(error, )}"',
                                                            _HTTP_DETAIL),
    "ingest.shipper.xǁOpenSearchSinkǁ_judge__mutmut_33": ("if self._taken[1] else 2.0", _NO_SHARE_YET),
    "ingest.shipper.xǁOpenSearchSinkǁ_judge__mutmut_42": ("-math.log1p(-share) <= STALL_EVIDENCE", _EXACT_EVIDENCE),
    "ingest.shipper.xǁOpenSearchSinkǁ__init____mutmut_46": ("self._stalls = None", _RESET_BY_SEND),
    "ingest.shipper.xǁOpenSearchSinkǁ__init____mutmut_47": ("self._stalls = 1", _RESET_BY_SEND),
    "ingest.shipper.xǁOpenSearchSinkǁ__init____mutmut_48": ("self._blind = None", _RESET_BY_SEND),
    "ingest.shipper.xǁOpenSearchSinkǁ__init____mutmut_49": ("self._blind = 1", _RESET_BY_SEND),
    "ingest.shipper.xǁOpenSearchSinkǁ__init____mutmut_53": ("self._request_seconds = None", _SET_BEFORE_READ),
    "ingest.shipper.xǁOpenSearchSinkǁ__init____mutmut_54": ("self._request_seconds = 1.0", _SET_BEFORE_READ),
    "ingest.shipper.xǁOpenSearchSinkǁ__init____mutmut_56": ("self._cut_short = None", _SET_BEFORE_READ),
    "ingest.shipper.xǁOpenSearchSinkǁ__init____mutmut_57": ("self._cut_short = True", _SET_BEFORE_READ),
    "ingest.shipper.xǁOpenSearchSinkǁ__init____mutmut_61": ('self._retry_after: float | None = ""', _SET_BEFORE_READ),
    "ingest.shipper.xǁOpenSearchSinkǁ__init____mutmut_67": ("http_compress=None,", _FALSY),
    "ingest.shipper.xǁOpenSearchSinkǁ__init____mutmut_75": ("", _CLIENT_DEFAULT),  # http_compress=False dropped
    "ingest.shipper.xǁOpenSearchSinkǁ__init____mutmut_69": ("retry_on_timeout=None,", _NO_TRANSPORT_RETRY),
    "ingest.shipper.xǁOpenSearchSinkǁ__init____mutmut_77": ("", _NO_TRANSPORT_RETRY),  # retry_on_timeout dropped
    "ingest.shipper.xǁOpenSearchSinkǁ__init____mutmut_70": ("timeout=None,", _PER_REQUEST_TIMEOUT),
    "ingest.shipper.xǁOpenSearchSinkǁ__init____mutmut_78": (")", _PER_REQUEST_TIMEOUT),  # timeout dropped
    "ingest.shipper.xǁOpenSearchSinkǁ__init____mutmut_81": ("retry_on_timeout=True,", _NO_TRANSPORT_RETRY),
    "ingest.shipper.xǁOpenSearchSinkǁ__init____mutmut_84": ('"connections", None)', _POOL_HAS),
    "ingest.shipper.xǁOpenSearchSinkǁ__init____mutmut_87": ('"connections", )', _POOL_HAS),
    "ingest.shipper.xǁOpenSearchSinkǁ__init____mutmut_95": ('session = getattr(connection, "session", )', _POOL_HAS),
    "ingest.shipper.xǁOpenSearchSinkǁsend__mutmut_55": ("self._judge(len(batch), settled, answered=False)",
                                                        "as for send__mutmut_51"),
    "ingest.shipper.xǁOpenSearchSinkǁ_post__mutmut_50": (
        '"post",', "requests upper-cases the method (PreparedRequest.prepare_method): POST goes on the wire either way"),
    "ingest.shipper.xǁOpenSearchSinkǁ_take__mutmut_14": (
        "max_bytes = max(2, int(self.max_bytes * self.request_share))",
        "a bound of 2 bytes instead of 1 still holds no two items (each is an action and a document line, each "
        "ending in a newline: 4 bytes at least), so each goes alone as before"),
    "ingest.shipper.x__error_detail__mutmut_1": (
        'url: str = "XXthe clusterXX"',
        "the default url only shows in a connection error's text, and the one call without a url "
        "(_request_error_is_retryable) never describes a connection error"),
    "ingest.shipper.x__error_detail__mutmut_2": ('url: str = "THE CLUSTER"', "as for _error_detail__mutmut_1"),
    "ingest.shipper.x__item_is_retryable__mutmut_11": ('error.get("type", None)', _NO_TYPE),
    "ingest.shipper.x__item_is_retryable__mutmut_13": ('error.get("type", )', _NO_TYPE),
    "ingest.shipper.x__item_is_retryable__mutmut_16": ('error.get("type", "XXXX")', _NO_TYPE),
    "ingest.shipper.x__item_is_retryable__mutmut_17": ('if isinstance(error, dict) else "XXXX"', _NO_TYPE),
    "ingest.shipper.xǁOpenSearchSinkǁ_wait__mutmut_34": ('if (self._trouble) or True else "?"', _TROUBLED),
    "ingest.shipper.xǁOpenSearchSinkǁ_wait__mutmut_36": ('if self._trouble else "XX?XX"', _TROUBLED),
    "ingest.shipper.xǁOpenSearchSinkǁ_remember_retry_after__mutmut_5": ('headers.get("retry-after")', _FIELD_NAME),
    "ingest.shipper.xǁOpenSearchSinkǁ_remember_retry_after__mutmut_6": ('headers.get("RETRY-AFTER")', _FIELD_NAME),
    "ingest.shipper.x__item_is_retryable__mutmut_27": ('error.get("reason", None)', _NO_REASON),
    "ingest.shipper.x__item_is_retryable__mutmut_29": ('error.get("reason", )', _NO_REASON),
    "ingest.shipper.x__item_is_retryable__mutmut_32": ('error.get("reason", "XXXX")', _NO_REASON),
    "ingest.shipper.x__not_bulk_detail__mutmut_4": (
        "if (isinstance(error, SerializationError) and error.args) or True else error",
        "the other error, _NotBulkResponse, has its text as its only argument: args[0] is str(error)"),
    "ingest.shipper.x__not_bulk_detail__mutmut_6": (
        "if isinstance(error, SerializationError) or error.args else error", "as for _not_bulk_detail__mutmut_4"),
    "ingest.shipper.xǁNdjsonFileSinkǁ__init____mutmut_25": (
        "self._size = None", "the first send opens a file (_file is None), which sets the size and count to 0"),
    "ingest.shipper.xǁNdjsonFileSinkǁ__init____mutmut_26": ("self._size = 1", "as for NdjsonFileSink __init____mutmut_25"),
    "ingest.shipper.xǁNdjsonFileSinkǁ__init____mutmut_27": ("self._count = None", "as for NdjsonFileSink __init____mutmut_25"),
    "ingest.shipper.xǁNdjsonFileSinkǁ__init____mutmut_28": ("self._count = 1", "as for NdjsonFileSink __init____mutmut_25"),
    # enrich.py
    "ingest.enrich.x__insert__mutmut_13": ("if (extra) or True else members", "inserting b'' leaves the text as it is"),
    "ingest.enrich.x__open_database__mutmut_21": ("maxminddb.open_database(path, )", "MODE_AUTO is the default mode"),
    "ingest.enrich.x__public_address__mutmut_14": (
        'int.from_bytes(packed, )', '"big" is int.from_bytes\'s default byte order since Python 3.11'),
}

# Statuses mutmut records (mutmut.stats.status_by_exit_code) that count as killed.
KILLED = {"killed", "timeout", "caught by type check", "segfault"}


def work_name(module: str) -> str:
    """ingest/formats/alb.py -> formats-alb; ingest/formats/__init__.py -> formats"""
    parts = Path(module).with_suffix("").parts[1:]
    return "-".join(p for p in parts if p != "__init__")


def pytest_settings() -> str:
    """The project's [tool.pytest.ini_options], for the copy mutmut runs the tests in."""
    text = (ROOT / "pyproject.toml").read_text()
    start = text.index("[tool.pytest.ini_options]")
    end = text.find("\n[", start + 1)
    return text[start:] if end < 0 else text[start:end + 1]


def prepare(module: str, tests: list[str], tests_root: Path) -> Path:
    work = WORK / work_name(module)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    for name in ("ingest", "scripts"):
        (work / name).symlink_to(ROOT / name)
    link_tests(work, tests_root)
    write_settings(work, module, tests)
    return work


def link_tests(work: Path, tests_root: Path) -> None:
    """mutmut copies the tests in at the start of each run, from here."""
    link = work / "tests"
    if link.is_symlink():
        link.unlink()
    link.symlink_to(tests_root.resolve())


def write_settings(work: Path, module: str, tests: list[str]) -> None:
    settings = {
        "source_paths": ["ingest"],
        "only_mutate": [module],
        "also_copy": ["scripts"],
        "pytest_add_cli_args_test_selection": tests,
        "pytest_add_cli_args": ["-p", "no:cacheprovider"],
        # A mutant's tests get (their clean CPU time + 1 s) x 3 x 2 CPU seconds, then count as a timeout
        # (killed: an endless loop is caught by the test run too).
        "timeout_multiplier": 3.0,
        "use_git_change_detection": False,
    }
    lines = ["[tool.mutmut]"] + [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    (work / "pyproject.toml").write_text(
        f"# Written by scripts/mutation.py for {module}; rewritten on every run.\n"
        + "\n".join(lines) + "\n\n" + pytest_settings())


def run_mutmut(work: Path, jobs: int, budget: float, log, names: list[str] = ()) -> int:
    mutmut = Path(sys.executable).parent / "mutmut"
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    process = subprocess.Popen([str(mutmut), "run", "--max-children", str(jobs), *names], cwd=work, env=env,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        return process.wait(timeout=budget)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return -1


def results(work: Path, module: str) -> dict[str, str]:
    """Mutant name -> status, from what mutmut recorded in the work directory."""
    from mutmut.stats import status_by_exit_code

    meta = work / "mutants" / (module + ".meta")
    if not meta.exists():
        return {}
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    return {name: status_by_exit_code[code] for name, code in codes.items()}


def diff(work: Path, module: str, name: str) -> str:
    from mutmut.mutation.diff_apply import get_diff_for_mutant

    here = os.getcwd()
    os.chdir(work)
    try:
        return get_diff_for_mutant(name, path=module)
    except Exception as exc:  # a diff is only an aid; the verdict stands without it
        return f"(no diff: {exc})"
    finally:
        os.chdir(here)


def changed_line(patch: str) -> str:
    return "\n".join(line[1:].strip() for line in patch.splitlines()
                     if line.startswith("+") and not line.startswith("+++"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("modules", nargs="*", metavar="MODULE",
                        help=f"modules to mutate (default: all of {', '.join(MODULES)})")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="mutants tested at once")
    parser.add_argument("--budget", type=float, default=1800, help="seconds allowed per module")
    parser.add_argument("--show", action="store_true", help="print the diff of every surviving mutant")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--again", action="store_true",
                      help="test only the last run's survivors again, keeping its kills (while tests are only added)")
    mode.add_argument("--resume", action="store_true",
                      help="test only the mutants the last run did not reach (stopped by its budget), keeping its verdicts")
    parser.add_argument("--tests-from", type=Path, default=ROOT / "tests", metavar="DIR",
                        help="the tests/ folder to run (default: this tree's), e.g. another commit's, for a score before")
    args = parser.parse_args(argv)
    modules = args.modules or list(MODULES)
    unknown = [m for m in modules if m not in MODULES]
    if unknown:
        parser.error(f"no test mapping for {', '.join(unknown)}; known: {', '.join(MODULES)}")
    if not (ROOT / "ingest" / "_native.abi3.so").exists() and os.environ.get("INGEST_NATIVE") != "0":
        print("mutation: ingest/_native.abi3.so is not built; run scripts/build_native.py first "
              "(or set INGEST_NATIVE=0 to test the Python path only)", file=sys.stderr)
        return 2

    rows = []
    status = 0
    for module in modules:
        names: list[str] = []
        started = time.monotonic()
        if args.again or args.resume:
            work = WORK / work_name(module)
            earlier = results(work, module)
            if not earlier:
                print(f"mutation: {module}: no earlier run to go on from; run it afresh first", file=sys.stderr)
                rows.append((module, None, 0.0))
                status = 2
                continue
            # --again: the survivors among the mutants the last run reached; --resume: the ones it did not reach
            wanted = ((lambda s: s not in KILLED and s != "not checked") if args.again
                      else (lambda s: s == "not checked"))
            names = sorted(n for n, s in earlier.items() if wanted(s))
            what = f"{len(names)} {'survivors' if args.again else 'mutants not reached'} of the last run"
            link_tests(work, args.tests_from)
            write_settings(work, module, MODULES[module])
        else:
            work = prepare(module, MODULES[module], args.tests_from)
            what = "every mutant"
        print(f"mutation: {module}, {what}, against {' '.join(MODULES[module])} in {args.tests_from} "
              f"(log: {work / 'mutmut.log'})", flush=True)
        if (args.again or args.resume) and not names:
            code = 0  # nothing left to test: the verdicts stand as they are
        else:
            with open(work / "mutmut.log", "w") as log:
                code = run_mutmut(work, args.jobs, args.budget, log, names)
        elapsed = time.monotonic() - started
        verdicts = results(work, module)
        if code != 0 or not verdicts:
            tail = (work / "mutmut.log").read_text(errors="replace")[-3000:]
            why = (f"stopped after the {args.budget:.0f} s budget; --resume goes on from there" if code == -1
                   else f"exit {code}")
            print(f"mutation: mutmut failed on {module} ({why}):\n{tail}", file=sys.stderr)
            rows.append((module, None, elapsed))
            status = 2
            continue
        prefix = Path(module).with_suffix("").as_posix().replace("/", ".").replace(".__init__", "") + "."
        survivors = sorted(n for n, s in verdicts.items() if s not in KILLED)
        equivalent = []
        for name in survivors:
            entry = EQUIVALENT.get(name)
            if entry and entry[0] in changed_line(diff(work, module, name)):
                equivalent.append(name)
        stale = sorted(n for n in EQUIVALENT  # the module's own names: ingest.formats.x_detect, not ingest.formats.alb.…
                       if n.startswith(prefix) and n[len(prefix):].startswith(("x_", "xǁ")) and n not in equivalent)
        killed = len(verdicts) - len(survivors)
        score = 100.0 * killed / len(verdicts)
        counted = len(verdicts) - len(equivalent)
        adjusted = 100.0 * killed / counted if counted else 100.0
        rows.append((module, (len(verdicts), killed, len(survivors), len(equivalent), score, adjusted), elapsed))
        if adjusted < TARGET:
            status = max(status, 1)
        for name in survivors:
            tag = "equivalent" if name in equivalent else verdicts[name]
            print(f"  {tag:10} {name}" + (f"  ({EQUIVALENT[name][1]})" if name in equivalent else ""))
            if args.show and name not in equivalent:
                print("    " + diff(work, module, name).replace("\n", "\n    "))
        for name in stale:
            print(f"  stale EQUIVALENT entry {name}: not a survivor, or its line changed; check and remove it")

    print()
    print(f"{'module':30} {'mutants':>7} {'killed':>6} {'survived':>8} {'equiv.':>6} {'score':>6} "
          f"{'w/o equiv.':>10} {'time':>6}")
    for module, row, elapsed in rows:
        if row is None:
            print(f"{module:30} {'mutmut failed':>52} {elapsed:5.0f}s")
            continue
        total, killed, survived, equivalent, score, adjusted = row
        mark = "" if adjusted >= TARGET else f"  < {TARGET:.0f}%"
        print(f"{module:30} {total:7} {killed:6} {survived:8} {equivalent:6} {score:5.1f}% {adjusted:9.1f}% "
              f"{elapsed:5.0f}s{mark}")
    return status


if __name__ == "__main__":
    sys.exit(main())
