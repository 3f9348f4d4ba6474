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
from ingest.deadletter import LocalDeadLetterWriter
from ingest.pipeline import Options, process_object
from ingest.shipper import NdjsonFileSink

RECORDED = json.loads((Path(__file__).parent / "data" / "ids_recorded_2026-12-01.json").read_text())
# The action line, and the line number the document that follows it carries.
ACTION = re.compile(rb'\{"index":\{"_index":"([^"]+)","_id":"([^"]+)"\}\}\n[^\n]*"line_number":(\d+)')


class _Object:
    """The object as S3 would hand it over: gzip, under its key (failure record ids hash the URI)."""

    def __init__(self, recorded: dict):
        self.uri, self.key = recorded["uri"], recorded["key"]
        self.data = gzip.compress(("\n".join(recorded["lines"]) + "\n").encode(), mtime=0)

    def open(self):
        stream = io.BytesIO(self.data)
        return stream.read, stream.close


def _documents(recorded: dict, tmp_path) -> list[dict]:
    sink = NdjsonFileSink(tmp_path / "bulk")
    report = process_object(_Object(recorded), sink, LocalDeadLetterWriter(tmp_path / "dead-letter"), Options())
    sink.close()
    assert report.status == "ok" and not report.dead_letter_uri, report.error
    body = b"".join(path.read_bytes() for path in sink.files)
    return [{"line": int(line), "index": index.decode(), "_id": doc_id.decode()}
            for index, doc_id, line in ACTION.findall(body)]


@pytest.fixture(params=["native", "python"])
def path(request, monkeypatch):
    if request.param == "python":
        monkeypatch.setattr(bulk, "_native", None)  # every line takes the pure-Python reference path
    elif bulk._native is None:
        pytest.skip("ingest/_native.c is not built (make builds it)")
    return request.param


@pytest.mark.parametrize("recorded", RECORDED["objects"], ids=[o["format"] for o in RECORDED["objects"]])
def test_every_document_keeps_the_index_and_id_recorded_on_2026_12_01(recorded, path, tmp_path):
    assert _documents(recorded, tmp_path) == recorded["documents"]


def test_the_recording_covers_both_formats_and_a_failure_record():
    assert {o["format"] for o in RECORDED["objects"]} == {"alb", "s3-access"}
    for recorded in RECORDED["objects"]:
        assert len(recorded["documents"]) == len(recorded["lines"])  # one document per line, none dropped
        assert recorded["lines"][-1].endswith("(cut short")  # the failure record's line
