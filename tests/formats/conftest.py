"""Shared fixtures for the parser specification tests.

The AWS documentation examples live in `data/*.log` (a `## name` line, then the log line) so that
they stay byte-for-byte what the docs print, trailing spaces included.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest.formats import ALB, FORMATS
from ingest.reader import json_safe

DATA = Path(__file__).parent / "data"
S3_ACCESS = FORMATS["s3-access"]


def load_examples(filename: str) -> dict[str, str]:
    examples: dict[str, str] = {}
    name = None
    for line in (DATA / filename).read_text(encoding="utf-8").split("\n"):
        if line.startswith("## "):
            name = line[3:].split()[0]
        elif name is not None:
            examples[name] = line
            name = None
    return examples


ALB_EXAMPLES = load_examples("alb_doc_examples.log")
S3_EXAMPLES = load_examples("s3_access_doc_examples.log")
NLB_EXAMPLES = load_examples("nlb_doc_examples.log")
CLB_EXAMPLES = load_examples("clb_doc_examples.log")


def pytest_generate_tests(metafunc):
    # Tests that take `alb_example` / `s3_example` run once per documented example, named after it.
    for fixture, examples in (("alb_example", ALB_EXAMPLES), ("s3_example", S3_EXAMPLES)):
        if fixture in metafunc.fixturenames:
            metafunc.parametrize(fixture, list(examples.values()), ids=list(examples))


def parse_with(fmt, line: str) -> dict:
    """The document `fmt` makes of `line`, checked on both parser paths.

    The fast path is only allowed for lines without backslashes or control characters (what the
    reader guarantees when it says a batch is JSON-safe); both paths must give the same document,
    and the emitted members must be valid JSON on their own."""
    ts, members = fmt.to_json(line, False)
    doc = json.loads("{" + members + "}")
    if json_safe(line.encode()):
        assert fmt.to_json(line, True) == (ts, members), "fast and slow paths disagree"
    assert doc["@timestamp"] == ts
    return doc


@pytest.fixture
def alb():
    return lambda line: parse_with(ALB, line)


@pytest.fixture
def s3():
    return lambda line: parse_with(S3_ACCESS, line)


@pytest.fixture
def alb_examples() -> dict[str, str]:
    return dict(ALB_EXAMPLES)


@pytest.fixture
def s3_examples() -> dict[str, str]:
    return dict(S3_EXAMPLES)
