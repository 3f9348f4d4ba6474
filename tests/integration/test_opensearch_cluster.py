"""The bulk writer against a real cluster: re-sending the same items leaves the same documents, readable
as sent, and a document the mapping refuses comes back as a rejection.

The cluster is the session's (tests/integration/conftest.py): the local node, or OPENSEARCH_URL. For
an Amazon OpenSearch Service domain: OPENSEARCH_AUTH=auto (default: SigV4 for an Amazon endpoint), AWS_REGION and AWS credentials
in the environment; or OPENSEARCH_AUTH=basic with OPENSEARCH_SECRET_ID. Writes one throw-away index
`shipper-it-<random>` and deletes it afterwards.
"""
from __future__ import annotations

import json
import time
import uuid

import pytest
import requests

from ingest.shipper import OpenSearchSink
from ingest.sinks import BulkItem

pytestmark = pytest.mark.integration


@pytest.fixture
def auth(cluster):
    return cluster.auth


@pytest.fixture
def URL(cluster):  # noqa: N802 - the name the tests below were written with
    return cluster.url


@pytest.fixture
def index(cluster, auth):
    name = f"shipper-it-{uuid.uuid4().hex[:12]}"
    yield name
    requests.delete(f"{cluster.url}/{name}", auth=auth, timeout=30)


def items_for(index: str, count: int) -> list[BulkItem]:
    items = []
    for n in range(1, count + 1):
        action = {"index": {"_index": index, "_id": f"doc-{n}"}}
        document = {"@timestamp": "2026-11-25T10:00:00.000Z", "event": {"dataset": "aws.elb"},
                    "log": {"file": {"line_number": n}}, "message": f"line {n} ünïcode"}
        body = (json.dumps(action) + "\n" + json.dumps(document, ensure_ascii=False) + "\n").encode()
        items.append(BulkItem(body, n, f"raw {n}"))
    return items


def test_sending_the_same_items_twice_leaves_each_document_once(URL, auth, index):
    items = items_for(index, 25)
    sink = OpenSearchSink(URL, auth, max_docs=10)  # several requests per send

    assert sink.send(items, time.monotonic() + 120) == []
    assert sink.send(items, time.monotonic() + 120) == []
    sink.close()

    requests.post(f"{URL}/{index}/_refresh", auth=auth, timeout=30).raise_for_status()
    count = requests.get(f"{URL}/{index}/_count", auth=auth, timeout=30)
    count.raise_for_status()
    assert count.json()["count"] == 25

    document = requests.get(f"{URL}/{index}/_doc/doc-7", auth=auth, timeout=30)
    document.raise_for_status()
    assert document.json()["_version"] == 2  # indexed, then overwritten by the resend
    assert document.json()["_source"] == json.loads(items[6].body.splitlines()[1])


def test_a_document_the_mapping_refuses_comes_back_as_a_rejection_with_the_reason(URL, auth, index):
    requests.put(f"{URL}/{index}", auth=auth, timeout=30,
                 json={"mappings": {"properties": {"source": {"properties": {"ip": {"type": "ip"}}}}}}
                 ).raise_for_status()
    good = BulkItem(f'{{"index":{{"_index":"{index}","_id":"ok"}}}}\n{{"source":{{"ip":"10.0.0.1"}}}}\n'.encode(), 1, "a")
    bad = BulkItem(f'{{"index":{{"_index":"{index}","_id":"bad"}}}}\n{{"source":{{"ip":"nope"}}}}\n'.encode(), 2, "b")

    [rejection] = OpenSearchSink(URL, auth).send([good, bad], time.monotonic() + 60)

    assert rejection.item == bad and rejection.status == 400
    assert rejection.reason.startswith("mapper_parsing_exception")
