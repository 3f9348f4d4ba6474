"""`python -m ingest` as a user runs it (a subprocess), on logs from scripts/generate_logs.py."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from .conftest import REPO, UNPARSABLE_LINE, generate_logs, gzipped, s3_access_lines, text

ALB_LINES, S3_LINES = 300, 200


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run([sys.executable, "-m", "ingest", *args], cwd=REPO, env=env, capture_output=True,
                          timeout=120)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("generated")
    generate_logs.main(["--out", str(out), "--alb-lines", str(ALB_LINES), "--s3-lines", str(S3_LINES),
                        "--lines-per-file", "120", "--seed", "7"])
    return out


def bulk_actions(directory: Path) -> list[dict]:
    actions = []
    for path in sorted(directory.glob("bulk-*.ndjson")):
        lines = path.read_bytes().splitlines()
        assert len(lines) % 2 == 0, f"{path.name} ends inside an item"
        actions += [json.loads(line) for line in lines[0::2]]
    return actions


def test_run_into_out_writes_one_document_per_generated_line(generated, tmp_path):
    result = cli("run", str(generated), "--out", str(tmp_path), "--bulk-max-docs", "100")

    assert result.returncode == 0, result.stderr.decode()
    actions = bulk_actions(tmp_path)
    assert len(actions) == ALB_LINES + S3_LINES
    assert len({a["index"]["_id"] for a in actions}) == ALB_LINES + S3_LINES
    indices = {a["index"]["_index"].rsplit("-", 1)[0] for a in actions}
    assert indices == {"alb-logs", "s3-access-logs"}
    assert all(len(path.read_bytes().splitlines()) <= 200 for path in tmp_path.glob("bulk-*.ndjson"))
    assert f"{ALB_LINES + S3_LINES} lines" in result.stderr.decode()


def test_running_twice_writes_the_same_files(generated, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    assert cli("run", str(generated), "--out", str(first)).returncode == 0
    assert cli("run", str(generated), "--out", str(second)).returncode == 0

    names = sorted(p.name for p in first.glob("bulk-*.ndjson"))
    assert names == sorted(p.name for p in second.glob("bulk-*.ndjson"))
    assert all((first / n).read_bytes() == (second / n).read_bytes() for n in names)


def test_run_exits_1_and_names_the_object_when_one_fails(generated, tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    good = source / "2026-11-25-12-05-00-0123456789ABCDEF"
    good.write_bytes(text(s3_access_lines(10)))
    whole = gzipped(text(s3_access_lines(300)))
    broken = source / "2026-11-25-12-10-00-0123456789ABCDEF"
    broken.write_bytes(whole[: len(whole) // 2])

    result = cli("run", str(source), "--out", str(tmp_path / "out"))

    assert result.returncode == 1
    assert str(broken) in result.stderr.decode()
    assert "truncated" in result.stderr.decode()
    assert len(bulk_actions(tmp_path / "out")) >= 10


@pytest.mark.parametrize("where", [[], ["--out", "x", "--opensearch-url", "http://127.0.0.1:9"]],
                         ids=["no destination", "two destinations"])
def test_run_needs_exactly_one_destination(where, generated):
    result = cli("run", str(generated), *where)

    assert result.returncode == 2
    assert b"--out" in result.stderr


def test_run_against_an_opensearch_url_sends_every_line(generated, opensearch):
    result = cli("run", str(generated), "--opensearch-url", opensearch.url, "--auth", "none")

    assert result.returncode == 0, result.stderr.decode()
    assert len({doc.id for doc in opensearch.docs}) == ALB_LINES + S3_LINES
    assert {request.path for request in opensearch.requests} == {"/_bulk"}


def test_parse_prints_one_json_document_per_input_line(tmp_path):
    lines = s3_access_lines(12)
    lines[4] = UNPARSABLE_LINE
    path = tmp_path / "2026-11-25-12-05-00-0123456789ABCDEF"
    path.write_bytes(gzipped(text(lines)))

    result = cli("parse", "--format", "s3-access", str(path))

    assert result.returncode == 0, result.stderr.decode()
    documents = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(documents) == len(lines)
    assert [d["log"]["file"]["line_number"] for d in documents] == list(range(1, 13))
    assert documents[4]["tags"] == ["parse_failure"]
    assert documents[4]["event"]["original"] == UNPARSABLE_LINE
    assert all("tags" not in d for i, d in enumerate(documents) if i != 4)


def test_parse_reads_stdin_and_exits_1_on_a_truncated_gzip(tmp_path):
    whole = gzipped(text(s3_access_lines(300)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    result = subprocess.run([sys.executable, "-m", "ingest", "parse", "--format", "s3-access"], cwd=REPO, env=env,
                            input=whole[: len(whole) // 2], capture_output=True, timeout=120)

    assert result.returncode == 1
    assert b"<stdin>" in result.stderr and b"truncated" in result.stderr
    complete_lines = zlib.decompressobj(31).decompress(whole[: len(whole) // 2]).count(b"\n")
    assert len(result.stdout.splitlines()) >= complete_lines > 0  # what came before the cut is still printed
