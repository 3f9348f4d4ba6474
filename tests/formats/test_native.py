"""The C accelerator (ingest/_native.c) writes exactly what the Python path writes, or declines.

The Python path is the reference. For every line the accelerator accepts, its bulk body (action
line and document) must be byte-for-byte the Python one; a line it declines (None) takes the
Python path, so declining is always safe. Checked on the AWS documentation examples, on generated
traffic (where it must also accept nearly every line, or it would not be an accelerator), and on
lines mutated at random around the places where parsing decides things.
"""
from __future__ import annotations

import os
import random
import re
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest import bulk
from ingest.bulk import BulkEncoder
from ingest.formats import ALB, FORMATS, KeyInfo

from .conftest import ALB_EXAMPLES, S3_EXAMPLES

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from generate_logs import alb_line, s3_line  # noqa: E402

S3 = FORMATS["s3-access"]
START = datetime(2026, 11, 25, 12, tzinfo=timezone.utc)

requires_native = pytest.mark.skipif(bulk._native is None, reason="ingest/_native.c is not built (make builds it)")


def test_the_accelerator_is_built_where_the_test_command_runs():
    # `make test` (and so CI) builds it and sets INGEST_REQUIRE_NATIVE=1: the comparisons below
    # must not be skipped there.
    if os.environ.get("INGEST_REQUIRE_NATIVE") != "1":
        pytest.skip("INGEST_REQUIRE_NATIVE is not set (make test sets it)")
    assert bulk._native is not None, "ingest/_native.abi3.so did not import"


def encoders(fmt, **kwargs):
    args = dict(source="s3://bucket/AWSLogs/key", key=KeyInfo(account="123456789012", region="eu-west-1",
                                                                  time="2026-11-25T12:05:00Z"), **kwargs)
    return BulkEncoder(fmt, **args), BulkEncoder(fmt, native=False, **args)


def accepted(fmt, raws: list[bytes]) -> list[bool]:
    native, _ = encoders(fmt)
    bodies = bulk._native.encode(native._native_format, raws, b"p-", b"", 1)
    return [body is not None for body in bodies]


def assert_same_bodies(fmt, lines: list[str | bytes], first: int = 1, **kwargs) -> None:
    raws = [line if isinstance(line, bytes) else line.encode() for line in lines]
    native, python = encoders(fmt, **kwargs)
    got, got_failures = native.encode(raws, first)
    want, want_failures = python.encode(raws, first)
    assert got_failures == want_failures
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.body == w.body, f"C and Python differ on line {w.line_number}: {w.raw!r}"
        assert (g.line_number, g.raw, g.failure) == (w.line_number, w.raw, w.failure)


@requires_native
@pytest.mark.parametrize("fmt,examples", [(ALB, ALB_EXAMPLES), (S3, S3_EXAMPLES)], ids=["alb", "s3-access"])
def test_every_aws_documentation_example_gives_the_python_body(fmt, examples):
    assert_same_bodies(fmt, list(examples.values()))
    assert any(accepted(fmt, [line.encode() for line in examples.values()])), "C accepted no example at all"


@requires_native
@pytest.mark.parametrize("fmt,make", [(ALB, alb_line), (S3, s3_line)], ids=["alb", "s3-access"])
def test_generated_traffic_is_taken_by_the_accelerator_and_gives_the_python_bodies(fmt, make):
    rng = random.Random(11)
    lines = [make(rng, START + timedelta(seconds=i)) for i in range(3000)]
    assert_same_bodies(fmt, lines, first=41)
    taken = accepted(fmt, [line.encode() for line in lines])
    # Only the generator's `- http://host:80- -` requests (no URL parse) may fall back.
    assert sum(taken) >= 0.98 * len(lines), f"C took only {sum(taken)} of {len(lines)} lines"


@requires_native
def test_a_cloudfront_origin_access_identity_requester_with_spaces_is_taken_by_the_accelerator():
    rng = random.Random(5)
    line = next(x for x in (s3_line(rng, START) for _ in range(500)) if "Origin Access Identity E" in x)
    assert accepted(S3, [line.encode()]) == [True]
    assert_same_bodies(S3, [line])


@requires_native
@pytest.mark.parametrize("fmt", [ALB, S3], ids=["alb", "s3-access"])
def test_lines_the_python_path_must_handle_are_declined(fmt):
    example = next(iter((ALB_EXAMPLES if fmt is ALB else S3_EXAMPLES).values()))
    declined = [
        b"",
        example.encode() + b" \xc3\xa9",  # non-ASCII: the Python path decodes it
        example.replace(" ", "  ", 1).encode(),  # two spaces: the slow tokenizer collapses them
        example.encode().replace(b" ", b"\\ ", 1),  # a backslash: JSON-escaping needed
        example.encode().replace(b" ", b"\t", 1),  # a control character
        b"not a log line at all",
    ]
    assert accepted(fmt, declined) == [False] * len(declined)
    assert_same_bodies(fmt, declined)


@requires_native
@pytest.mark.parametrize("tail", ['" -"', '"- "', '" "', '"-" "-" " -"', '"-"-"', '"'])
def test_a_quoted_extra_field_that_is_not_a_placeholder_is_declined(tail):
    line = ALB_EXAMPLES["fixed_response_2026_ip_address_and_placeholders"] + " " + tail
    assert accepted(ALB, [line.encode()]) == [False]
    assert_same_bodies(ALB, [line])


@requires_native
@pytest.mark.parametrize("fmt, old, new", [
    (ALB, "2018-07-02T22:23:00.186641Z", "2026-13-45T25:61:61.000000Z"),
    (ALB, "2018-07-02T22:23:00.186641Z", "2018-02-29T22:23:00.186641Z"),
    (ALB, "2018-07-02T22:23:00.186641Z", "2018-07-02T23:59:60.186641Z"),
    (ALB, "2018-07-02T22:22:48.364000Z", "2018-07-02T22:22:48.364000Z".replace("22:22", "24:22")),
    (S3, "[06/Feb/2019:00:00:38 +0000]", "[31/Feb/2019:00:00:38 +0000]"),
    (S3, "[06/Feb/2019:00:00:38 +0000]", "[29/Feb/2019:00:00:38 +0000]"),
    (S3, "[06/Feb/2019:00:00:38 +0000]", "[06/Feb/2019:24:00:38 +0000]"),
    (S3, "[06/Feb/2019:00:00:38 +0000]", "[06/Feb/2019:00:00:60 +0000]"),
    (S3, "[06/Feb/2019:00:00:38 +0000]", "[06/Feb/2019:00:60:38 +0000]"),
], ids=lambda v: v if isinstance(v, str) and v[0] in "2[" else None)
def test_an_impossible_timestamp_is_declined_and_becomes_a_failure_record(fmt, old, new):
    line = next(iter((ALB_EXAMPLES if fmt is ALB else S3_EXAMPLES).values()))
    assert old in line
    line = line.replace(old, new)
    assert accepted(fmt, [line.encode()]) == [False]
    assert_same_bodies(fmt, [line])
    assert encoders(fmt)[1].encode([line.encode()], 1)[1] == 1  # a failure, not a document


TWO_DIGITS = st.one_of(st.integers(0, 61), st.integers(0, 99)).map("{:02d}".format)  # mostly near the ranges


@requires_native
@given(year=st.sampled_from(["1900", "2000", "2019", "2024"]), month=st.integers(0, 13), day=TWO_DIGITS, hour=TWO_DIGITS,
       minute=TWO_DIGITS, second=TWO_DIGITS)
def test_times_real_or_impossible_give_the_python_body_or_are_declined(year, month, day, hour, minute, second):
    alb = ALB_EXAMPLES["http"].replace("2018-07-02T22:23:00", f"{year}-{month:02d}-{day}T{hour}:{minute}:{second}")
    alb_rct = ALB_EXAMPLES["http"].replace("2018-07-02T22:22:48", f"{year}-{month:02d}-{day}T{hour}:{minute}:{second}")
    assert_same_bodies(ALB, [alb, alb_rct])
    name = "JanFebMarAprMayJunJulAugSepOctNovDec"[3 * (month % 12):][:3]
    s3 = next(iter(S3_EXAMPLES.values())).replace("06/Feb/2019:00:00:38", f"{day}/{name}/{year}:{hour}:{minute}:{second}")
    assert_same_bodies(S3, [s3])


@requires_native
def test_an_s3_time_in_another_zone_is_left_to_the_python_path_which_converts_it():
    line = next(iter(S3_EXAMPLES.values()))
    start = line.index("[")
    shifted = line[:start + 22] + "-0700" + line[start + 27:]
    assert accepted(S3, [shifted.encode()]) == [False]
    assert_same_bodies(S3, [shifted])


# Characters that decide how a line splits and what a field means.
PIVOTS = ' "-:[]/?.,+0123456789' + "aZ_T"
TOKENS = ["-", '"-"', "-1", "-1.0", "-0", "0", "01", "1.5", "0.000", '""', '" "', "[::1]:80", "a:b", "x", "http://h:80-",
          "REST.", "REST.GET.OBJECT", ".GET", "rest.GET", "A_1.b", '"a,b"', '",a,"', '" 1  2 "',
          "2026-11-25T12:00:00Z", "2026-11-25T12:00:00.Z", '"E3 X"']
FIELD = re.compile(r'"[^"]*"|\[[^\]]*\]|[^ ]+')

# Request lines built from the pieces URL parsing decides on, valid and not.
REQUESTS = st.builds(
    lambda method, scheme, host, port, path, query, version: f"{method} {scheme}{host}{port}{path}{query}{version}",
    st.sampled_from(["GET", "-", "get", "", "POST"]),
    st.sampled_from(["http://", "https://", "h2://", "1x://", "http:/", "", "a+b.c-d://"]),
    st.sampled_from(["www.example.com", "[2001:db8::1]", "[::1", "a]b", "[]", "", "a[b]", "[x]y"]),
    st.sampled_from(["", ":80", ":0", ":08", ":", ":8a", "::80", ":443"]),
    st.sampled_from(["", "/", "/a b", "/p/q.html", "/x:y", "/[z]"]),
    st.sampled_from(["", "?", "?q=1", "??", "?a?b", "?x y"]),
    st.sampled_from([" HTTP/1.1", " HTTP/2.0", " HTTP/", " -", "", " http/1.1", " HTTP/1.1 extra"]),
)
ADDRESSES = st.sampled_from(["10.0.0.1:80", "[2001:db8::1]:443", "2001:db8::1:443", "[[a]]:1", "a]:1", ":1", "a:",
                             "a:01", "a:0", "[]:80", "-", "a:b:c:9", '"10.0.0.1:80"'])


def mutations(example: str) -> st.SearchStrategy[str]:
    spans = [m.span() for m in FIELD.finditer(example)]

    def in_field(t):  # an edit inside one field, where the parsing decisions are
        field, offset, cut, text = t
        start, end = spans[field % len(spans)]
        at = start + offset % (end - start + 1)
        return example[:at] + text + example[at + cut:]

    def token_edit(t):
        where, how, token = t
        parts = example.split(" ")
        where %= len(parts)
        if how == 0:
            parts[where] = token
        elif how == 1:
            parts.insert(where, token)
        elif how == 2:
            del parts[where]
        else:
            parts = parts[:where + 1]  # an older, shorter line
        return " ".join(parts)

    def replace_field(t):
        field, value = t
        start, end = spans[field % len(spans)]
        return example[:start] + value + example[end:]

    return st.one_of(
        st.tuples(st.integers(0, 60), st.integers(0, 400), st.integers(0, 2), st.text(PIVOTS, max_size=3)).map(in_field),
        st.tuples(st.integers(0, 60), st.integers(0, 3), st.sampled_from(TOKENS)).map(token_edit),
        st.tuples(st.integers(0, 60), st.one_of(REQUESTS.map(lambda r: f'"{r}"'), ADDRESSES)).map(replace_field),
    )


@requires_native
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_alb_lines_give_the_python_body_or_are_declined(data):
    example = data.draw(st.sampled_from(list(ALB_EXAMPLES.values())))
    assert_same_bodies(ALB, [data.draw(mutations(example)) for _ in range(3)])


@requires_native
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_s3_lines_give_the_python_body_or_are_declined(data):
    example = data.draw(st.sampled_from(list(S3_EXAMPLES.values())))
    assert_same_bodies(S3, [data.draw(mutations(example)) for _ in range(3)])


@requires_native
@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=5))
def test_random_bytes_never_crash_the_accelerator(lines):
    for fmt in (ALB, S3):
        assert_same_bodies(fmt, lines)


def test_the_raw_line_setting_keeps_the_python_path():
    native, _ = encoders(ALB, include_raw=True)
    assert native._native_format is None


# -- with enrichment on (ingest/enrich.py): the accelerator inserts the same members -----------------------


def enricher(databases):
    from ingest.enrich import Enricher

    city, asn = databases
    return Enricher(str(city), str(asn), True)


@requires_native
@pytest.mark.parametrize("fmt,make", [(ALB, alb_line), (S3, s3_line)], ids=["alb", "s3-access"])
def test_with_geoip_and_user_agents_on_the_accelerator_still_takes_the_lines_and_writes_the_python_bodies(
        geoip_databases, fmt, make):
    rng = random.Random(13)
    lines = [make(rng, START + timedelta(seconds=i)) for i in range(3000)]
    shared = enricher(geoip_databases)  # one cache for both paths, as in a real run: hits and misses mixed

    assert_same_bodies(fmt, lines, enricher=shared)

    native, _ = encoders(fmt, enricher=shared)
    items, _ = native.encode([line.encode() for line in lines], 1)
    assert sum(b'"geo":{' in item.body for item in items) > len(lines) // 2
    assert sum(b'"user_agent":{"original":' in item.body and b',"name":' in item.body for item in items) > len(lines) // 2


@requires_native
@pytest.mark.parametrize("fmt,examples", [(ALB, ALB_EXAMPLES), (S3, S3_EXAMPLES)], ids=["alb", "s3-access"])
def test_with_enrichment_on_every_aws_documentation_example_gives_the_python_body(geoip_databases, fmt, examples):
    assert_same_bodies(fmt, list(examples.values()), enricher=enricher(geoip_databases))


@requires_native
def test_with_enrichment_a_cold_cache_on_the_accelerator_and_a_warm_one_on_python_agree(geoip_databases):
    # Each path filling the cache for the other must not matter: the members depend on the key alone.
    rng = random.Random(17)
    raws = [alb_line(rng, START + timedelta(seconds=i)).encode() for i in range(500)]
    warm = enricher(geoip_databases)
    python_first = BulkEncoder(ALB, "s3://b/k", native=False, enricher=warm).encode(raws, 1)[0]
    native_cold = BulkEncoder(ALB, "s3://b/k", enricher=enricher(geoip_databases)).encode(raws, 1)[0]

    assert [item.body for item in native_cold] == [item.body for item in python_first]


@requires_native
def test_an_error_in_the_enricher_surfaces_from_the_accelerator_instead_of_a_wrong_body(geoip_databases):
    broken = enricher(geoip_databases)

    def fails(key):
        raise RuntimeError("lookup failed")

    broken.geo_miss = fails
    native, _ = encoders(ALB, enricher=broken)

    with pytest.raises(RuntimeError, match="lookup failed"):
        native.encode([alb_line(random.Random(1), START).encode()], 1)


def _threads_ran_inside(call) -> int:
    """How often another thread ran while `call()` was running. The switch interval is set so long that
    this thread never gives up the GIL on its own: the other thread runs inside only if the call lets go."""
    import threading
    import time

    inside, runs, done = [False], [0], threading.Event()

    def other():
        while not done.is_set():
            if inside[0]:
                runs[0] += 1
            time.sleep(0.0001)  # lets go of the GIL itself, so that the calling thread gets it back

    interval = sys.getswitchinterval()
    thread = threading.Thread(target=other)
    sys.setswitchinterval(60)
    try:
        thread.start()
        time.sleep(0.01)
        inside[0] = True
        call()
        inside[0] = False
    finally:
        done.set()
        thread.join()
        sys.setswitchinterval(interval)
    return runs[0]


def _alb_batch(lines: int) -> tuple:
    """_native.encode's arguments for `lines` generated ALB lines."""
    rng = random.Random(5)
    raws = [alb_line(rng, START + timedelta(seconds=i)).encode() for i in range(lines)]
    return encoders(ALB)[0]._native_format, raws, b"alb-logs-", b"", 1


@requires_native
def test_the_accelerator_lets_other_threads_run_while_it_writes_a_batch():
    # The background sender's Python (its request, the response) runs while the next batch is encoded,
    # instead of waiting for the parse to give up the GIL.
    bodies = []
    runs = _threads_ran_inside(lambda: bodies.extend(bulk._native.encode(*_alb_batch(20_000))))

    assert runs > 0
    assert sum(body is not None for body in bodies) > 19_000


@requires_native
def test_with_enrichment_the_accelerator_keeps_the_gil_for_the_enricher_s_python():
    enrich = ({}, lambda key: b',"seen":true', {}, None)  # a geo half that answers every address

    bodies = []
    runs = _threads_ran_inside(lambda: bodies.extend(bulk._native.encode(*_alb_batch(5_000), enrich)))

    assert runs == 0
    assert all(b'"seen":true' in body for body in bodies if body is not None)
