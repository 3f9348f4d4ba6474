"""Hypothesis profiles: deterministic by default, random exploration on request.

- `ci` (the default, so `make test`, `.ci/run` and a plain `pytest` all use it): derandomized, so
  every run tries the same examples and a red build means a change, not a lucky draw; no example
  database (nothing carried over between runs); no deadline and no too_slow health check, since
  timing on a shared or busy machine says nothing about correctness.
- `dev`: random exploration with the example database, for hunting new failures locally:
  `HYPOTHESIS_PROFILE=dev pytest tests/formats`. A failure it finds must be added to the tests as
  an explicit example or a named test before it is fixed, so that `ci` keeps checking it.

Tests must not set `derandomize` or `database` themselves. Those that pass `suppress_health_check`
replace the profile's list, so they must name HealthCheck.too_slow again.
"""
from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", derandomize=False, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
