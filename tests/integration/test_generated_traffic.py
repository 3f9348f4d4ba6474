"""The traffic the integration suite loads lies in one UTC day, whatever the hour the suite runs: the
cookbook's and the dashboards' top-N answers are compared exactly with the truth, which only one daily
index per format guarantees (see conftest.traffic_end)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from .conftest import GENERATE, generate_logs, traffic_end
from .truth import Truth


@pytest.mark.parametrize("now", ["00:00:00", "00:20:00", "00:59:59", "12:00:00", "23:59:59"])
def test_the_generated_traffic_lies_in_one_utc_day_and_within_an_hour_of_now(tmp_path, capsys, now):
    now = datetime.fromisoformat(f"2026-12-02T{now}+00:00")
    end = traffic_end(now)
    assert generate_logs.main(["--out", str(tmp_path), *GENERATE], now=end) == 0
    start = datetime.fromisoformat(re.search(r"from (\S+)Z", capsys.readouterr().out).group(1) + ":00+00:00")

    truth = Truth.from_folder(tmp_path)
    times = [r.time for r in truth.alb + truth.s3 + truth.health_checks]
    assert start.date() == end.date() and start <= min(times) and max(times) <= end
    assert now - timedelta(hours=1) <= start and end <= now + timedelta(hours=1)  # the "last hour" recipes see it all
