"""docs/documents.md shows example documents: they must be what the parsers write today."""
from __future__ import annotations

import json
import re
from pathlib import Path

from ingest.bulk import BulkEncoder
from ingest.formats import FORMATS, key_info

REPO = Path(__file__).resolve().parents[1]
ALB_KEY = ("AWSLogs/123456789012/elasticloadbalancing/us-east-2/2018/07/02/123456789012_elasticloadbalancing_us-east-2_"
           "app.my-loadbalancer.50dc6c495c0c9188_20180702T2225Z_192.168.131.39_2a3b4c5d.log.gz")
S3_KEY = "s3-access/2019-02-06-00-05-12-0123456789ABCDEF"
CLOUDFRONT_KEY = "cf-logs/EMLARXS9EXAMPLE.2019-12-13-22.RT4KCN4SGK9.gz"


def doc_example(path: str, starts_with: str) -> bytes:
    lines = (REPO / "tests" / "formats" / "data" / path).read_bytes().splitlines()
    return next(line for line in lines if line.startswith(starts_with.encode()))


def encoded(fmt: str, key: str, line: bytes, line_number: int = 1) -> list[dict]:
    items, _ = BulkEncoder(FORMATS[fmt], "s3://example-logs/" + key, key=key_info(key)).encode([line], line_number)
    return [json.loads(part) for part in items[0].body.splitlines()]


def shown() -> list[list[dict]]:
    text = (REPO / "docs" / "documents.md").read_text()
    blocks = re.findall(r"```json\n(.*?)```", text, re.S)
    return [[json.loads(block.split("\n", 1)[0]), json.loads(block.split("\n", 1)[1])] for block in blocks]


def test_the_example_documents_in_the_docs_are_what_the_parsers_write():
    alb = doc_example("alb_doc_examples.log", "https 2018-07-02T22:23:00.186641Z app/my-loadbalancer")
    s3 = doc_example("s3_access_doc_examples.log", "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be "
                                            "DOC-EXAMPLE-BUCKET1 [06/Feb/2019:00:00:38")
    cloudfront = doc_example("cloudfront_doc_examples.log", "2019-12-13\t22:36:27")
    assert shown() == [encoded("alb", ALB_KEY, alb), encoded("s3-access", S3_KEY, s3),
                       encoded("s3-access", S3_KEY, s3[:140], line_number=7),
                       encoded("cloudfront", CLOUDFRONT_KEY, cloudfront, line_number=3)]
