#!/usr/bin/env python3
"""Small MaxMind-format (MMDB) City and ASN databases for the tests, the benchmark and the demo.

    python scripts/geoip_testdb.py DIR    # writes DIR/GeoLite2-City-Test.mmdb and DIR/GeoLite2-ASN-Test.mmdb

Built here with mmdb-writer (a dev dependency), never downloaded: the records have the layout of
GeoLite2 City and ASN (what ingest/enrich.py reads), the places and networks are a fixed table below.
The generator (scripts/generate_logs.py) draws its client addresses from the same networks, so
generated traffic finds its places the way real traffic does. One private network is in the City
database on purpose: the enricher must never give a private address a place, whatever a database says.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import NamedTuple

CITY_NAME = "GeoLite2-City-Test.mmdb"
ASN_NAME = "GeoLite2-ASN-Test.mmdb"


class Network(NamedTuple):
    cidr: str
    country_iso_code: str
    country_name: str
    region_name: str | None
    city_name: str | None
    lat: float
    lon: float
    asn: int | None
    organization: str | None


NETWORKS = [
    Network("81.2.69.0/24", "GB", "United Kingdom", "England", "London", 51.5142, -0.0931, 20712, "Andrews & Arnold Ltd"),
    Network("2.125.160.0/24", "GB", "United Kingdom", "England", "Boxford", 51.75, -1.25, 5607, "Sky UK Limited"),
    Network("216.160.83.0/24", "US", "United States", "Washington", "Milton", 47.2513, -122.3149, 209, "CenturyLink"),
    Network("52.94.0.0/16", "US", "United States", "Virginia", "Ashburn", 39.0469, -77.4903, 16509, "Amazon.com, Inc."),
    Network("89.160.20.0/24", "SE", "Sweden", "Östergötland County", "Linköping", 58.4167, 15.6167, 29518, "Bredband2 AB"),
    Network("175.16.199.0/24", "CN", "China", "Jilin Sheng", "Changchun", 43.88, 125.3228, 4837, "CHINA UNICOM China169 Backbone"),
    Network("177.72.0.0/16", "BR", "Brazil", "São Paulo", "São Paulo", -23.5475, -46.6361, 28573, "Claro NXT Telecomunicacoes Ltda"),
    Network("91.198.174.0/24", "NL", "Netherlands", "North Holland", "Amsterdam", 52.3740, 4.8897, 14907, "Wikimedia Foundation Inc."),
    Network("106.10.0.0/16", "JP", "Japan", "Tokyo", "Tokyo", 35.6895, 139.6917, 2497, "Internet Initiative Japan Inc."),
    Network("185.220.101.0/24", "DE", "Germany", None, None, 51.2993, 9.4910, 60729, "Stiftung Erneuerbare Freiheit"),
    Network("41.203.64.0/18", "NG", "Nigeria", "Lagos", "Lagos", 6.4541, 3.3947, None, None),  # no ASN record
    Network("2a01:4f8::/32", "DE", "Germany", "Bavaria", "Nuremberg", 49.4478, 11.0683, 24940, "Hetzner Online GmbH"),
    Network("2600:1f18::/32", "US", "United States", "Virginia", "Ashburn", 39.0469, -77.4903, 14618, "Amazon.com, Inc."),
]
# In the City database although private: the enricher must ignore it.
PRIVATE_IN_DB = Network("10.0.0.0/8", "US", "United States", None, "Private", 0.0, 0.0, 64512, "Private AS")


def _writer(database_type: str):
    from mmdb_writer import MMDBWriter  # dev dependency: only the tests and the benchmark build databases

    return MMDBWriter(ip_version=6, ipv4_compatible=True, database_type=database_type, languages=["en"],
                      description={"en": "test data built by scripts/geoip_testdb.py"})


def city_record(n: Network) -> dict:
    from mmdb_writer import MmdbF64

    record = {"country": {"iso_code": n.country_iso_code, "names": {"en": n.country_name}},
              "location": {"latitude": MmdbF64(n.lat), "longitude": MmdbF64(n.lon)}}
    if n.region_name:
        record["subdivisions"] = [{"names": {"en": n.region_name}}]
    if n.city_name:
        record["city"] = {"names": {"en": n.city_name}}
    return record


def build(directory: Path) -> tuple[Path, Path]:
    """(City database, ASN database) written into `directory`."""
    from mmdb_writer import MmdbU32
    from netaddr import IPSet

    directory.mkdir(parents=True, exist_ok=True)
    city, asn = _writer("GeoLite2-City"), _writer("GeoLite2-ASN")
    for n in [*NETWORKS, PRIVATE_IN_DB]:
        city.insert_network(IPSet([n.cidr]), city_record(n))
        if n.asn is not None:
            asn.insert_network(IPSet([n.cidr]), {"autonomous_system_number": MmdbU32(n.asn),
                                                 "autonomous_system_organization": n.organization})
    paths = directory / CITY_NAME, directory / ASN_NAME
    city.to_db_file(str(paths[0]))
    asn.to_db_file(str(paths[1]))
    return paths


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: geoip_testdb.py DIR", file=sys.stderr)
        return 2
    for path in build(Path(argv[0])):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
