"""Re-ingestion is idempotent on the real cluster: the same objects three times give the same count,
each document overwritten in place (deterministic _id, op_type index), never a copy in another index."""
from __future__ import annotations

from collections import Counter

import pytest

from .conftest import GENERATED, ingest_all

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def ingested_three_times(cluster, loaded, tmp_path_factory):
    both = ",".join(cluster.pattern(family) for family in GENERATED)
    before = cluster.ok("GET", f"{both}/_count")["count"]
    for _ in range(2):  # the session's first ingestion, plus two more
        reports = ingest_all(cluster, loaded.objects, tmp_path_factory.mktemp("dead-letter"))
        assert all(r.status == "ok" and r.dead_lettered == 0 for r in reports)
    return both, before


def test_the_count_is_the_same_after_three_ingestions(cluster, loaded, ingested_three_times):
    both, before = ingested_three_times

    assert before == sum(r.lines_read for r in loaded.reports)
    assert cluster.ok("GET", f"{both}/_count")["count"] == before


def test_no_id_is_in_two_indices_and_every_document_was_overwritten_twice(cluster, ingested_three_times):
    both, before = ingested_three_times
    hits = cluster.all_documents(both)

    ids = Counter(hit["_id"] for hit in hits)
    assert len(hits) == before
    assert [i for i, n in ids.items() if n > 1] == []
    assert Counter(hit["_version"] for hit in hits) == {3: before}
