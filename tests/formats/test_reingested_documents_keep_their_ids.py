"""A document indexed by an earlier version and ingested again by this one keeps its `_id` and index,
so the re-ingestion overwrites it instead of doubling it.

`data/ids_recorded_2026-12-01.json` holds two objects under the keys AWS gives them (AWS documentation
lines of each format, and a line cut short that becomes a failure record) and the (index, `_id`) of every
document the version of that day produced. It was recorded once and must never be regenerated: a change
that moves an id or an index breaks this test, and needs a migration plan instead.
"""
from __future__ import annotations

import gzip
import io
import json
import re
from pathlib import Path

import pytest

from ingest import bulk
from ingest.pipeline import Options, process_object

RECORDED = json.loads((Path(__file__).parent / "data" / "ids_recorded_2026-12-01.json").read_text())
ACTION = re.compile(rb'\{"index":\{"_index":"([^"]+)","_id":"([^"]+)"\}\}\n')


class _Object:
    """The object as S3 would hand it over: gzip, under its key (failure record ids hash the URI)."""

    def __init__(self, recorded: dict):
        self.uri, self.key = recorded["uri"], recorded["key"]
        self.data = gzip.compress(("\n".join(recorded["lines"]) + "\n").encode(), mtime=0)

    def open(self):
        stream = io.BytesIO(self.data)
        return stream.read, stream.close


class _Recorder:
    def __init__(self):
        self.items = []

    def send(self, items, deadline):
        self.items.extend(items)
        return []

    def close(self):
        pass


class _NoDeadLetter:
    def store(self, letter, day):
        assert not letter.count
        return None


def _documents(recorded: dict) -> list[dict]:
    sink = _Recorder()
    report = process_object(_Object(recorded), sink, _NoDeadLetter(), Options())
    assert report.status == "ok", report.error
    documents = []
    for item in sink.items:
        index, doc_id = ACTION.match(item.body).groups()
        documents.append({"line": item.line_number, "index": index.decode(), "_id": doc_id.decode()})
    return documents


@pytest.fixture(params=["native", "python"])
def path(request, monkeypatch):
    if request.param == "python":
        monkeypatch.setattr(bulk, "_native", None)  # every line takes the pure-Python reference path
    elif bulk._native is None:
        pytest.skip("ingest/_native.c is not built (make builds it)")
    return request.param


@pytest.mark.parametrize("recorded", RECORDED["objects"], ids=[o["format"] for o in RECORDED["objects"]])
def test_every_document_keeps_the_index_and_id_recorded_on_2026_12_01(recorded, path):
    assert _documents(recorded) == recorded["documents"]


def test_the_recording_covers_both_formats_and_a_failure_record():
    assert {o["format"] for o in RECORDED["objects"]} == {"alb", "s3-access"}
    for recorded in RECORDED["objects"]:
        assert len(recorded["documents"]) == len(recorded["lines"])  # one document per line, none dropped
        assert recorded["lines"][-1].endswith("(cut short")  # the failure record's line
