"""GeoIP and user agents on every document (ingest/enrich.py): what each document gets, and what not.

The databases are MaxMind-format test databases built by scripts/geoip_testdb.py (never downloaded);
their places are a fixed table there. The log lines are the AWS documentation examples with, where a
public client is needed, the documentation's address replaced by one from the table.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.bulk import BulkEncoder
from ingest.enrich import Enricher, EnrichError, from_settings, is_public
from ingest.formats import ALB, FORMATS, KeyInfo

from .conftest import ALB_EXAMPLES, S3_EXAMPLES

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))  # geoip_testdb, for databases with parts missing
S3 = FORMATS["s3-access"]
ALB_HTTP = ALB_EXAMPLES["http"]  # client 192.168.131.39, user agent curl/7.46.0
S3_GET = S3_EXAMPLES["2023_get_versioning_access_point"]  # remote IP 192.0.2.3, user agent S3Console/0.4
CHROME_ON_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                     "Chrome/131.0.0.0 Safari/537.36")
SAFARI_ON_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                    "Version/17.1 Mobile/15E148 Safari/604.1")


@pytest.fixture
def enricher(geoip_databases):
    city, asn = geoip_databases
    return Enricher(str(city), str(asn), True)


def document(line: str, enricher: Enricher | None, fmt=ALB, native: bool = False) -> dict:
    encoder = BulkEncoder(fmt, "s3://bucket/key", key=KeyInfo(), native=native, enricher=enricher)
    [item], failures = encoder.encode([line.encode()], 1)
    assert failures == 0
    return json.loads(item.body.split(b"\n")[1])


def alb_from(client: str, agent: str = "curl/7.46.0") -> str:
    host = f"[{client}]" if ":" in client else client
    return ALB_HTTP.replace("192.168.131.39:2817", f"{host}:2817").replace('"curl/7.46.0"', f'"{agent}"')


# -- GeoIP ---------------------------------------------------------------------------------------------


def test_a_public_client_gets_its_country_region_city_location_and_network(enricher):
    source = document(alb_from("81.2.69.142"), enricher)["source"]

    assert source == {
        "ip": "81.2.69.142", "port": 2817,
        "geo": {"country_iso_code": "GB", "country_name": "United Kingdom", "region_name": "England",
                "city_name": "London", "location": {"lat": 51.5142, "lon": -0.0931}},
        "as": {"number": 20712, "organization": {"name": "Andrews & Arnold Ltd"}},
    }


def test_an_ipv6_client_is_placed_too(enricher):
    source = document(alb_from("2a01:4f8:c17:b8f::2"), enricher)["source"]

    assert source["geo"]["city_name"] == "Nuremberg" and source["as"]["number"] == 24940


def test_non_ascii_place_names_are_kept_as_utf8(enricher):
    geo = document(alb_from("89.160.20.112"), enricher)["source"]["geo"]

    assert (geo["region_name"], geo["city_name"]) == ("Östergötland County", "Linköping")


@pytest.mark.parametrize("client", ["192.168.131.39", "10.0.0.1", "172.16.5.4", "100.64.0.1", "127.0.0.1",
                                    "169.254.169.254", "192.0.2.3", "2001:db8::1", "fe80::1", "::1",
                                    "::ffff:10.0.0.1"])
def test_private_and_reserved_addresses_get_no_geo_fields_even_where_the_database_has_them(enricher, client):
    # 10.0.0.0/8 is in the test City database on purpose.
    source = document(alb_from(client), enricher)["source"]

    assert "geo" not in source and "as" not in source


def test_the_aws_documentation_example_keeps_its_private_client_without_a_place(enricher):
    doc = document(ALB_HTTP, enricher)

    assert doc["source"] == {"ip": "192.168.131.39", "port": 2817}
    assert doc["user_agent"] == {"original": "curl/7.46.0", "name": "curl", "version": "7.46.0"}


def test_an_address_the_databases_do_not_know_gets_nothing(enricher):
    assert "geo" not in document(alb_from("8.8.8.8"), enricher)["source"]


def test_a_network_with_a_place_but_no_asn_record_gets_only_the_place(enricher):
    source = document(alb_from("41.203.64.9"), enricher)["source"]

    assert source["geo"]["country_iso_code"] == "NG" and "as" not in source


def test_only_the_databases_given_are_used(geoip_databases):
    city, asn = geoip_databases

    only_city = document(alb_from("81.2.69.142", CHROME_ON_WINDOWS), Enricher(str(city)))
    only_asn = document(alb_from("81.2.69.142"), Enricher(asn_db=str(asn)))["source"]
    only_agents = Enricher(user_agents=True)

    assert "geo" in only_city["source"] and "as" not in only_city["source"]
    assert only_city["user_agent"] == {"original": CHROME_ON_WINDOWS}
    assert "as" in only_asn and "geo" not in only_asn
    assert only_agents.geo_miss is None and Enricher(str(city)).ua_miss is None  # the accelerator skips a half that is off


def test_addresses_in_different_networks_get_their_own_places_and_one_network_is_built_once(enricher):
    cities = [document(alb_from(client), enricher)["source"]["geo"]["city_name"]
              for client in ("81.2.69.142", "2.125.160.217", "81.2.69.160", "216.160.83.57")]

    assert cities == ["London", "Boxford", "London", "Milton"]
    assert len(enricher._networks) == 6  # three networks, each in the City and the ASN database


def test_an_ipv4_mapped_ipv6_client_is_placed_as_its_ipv4_address(enricher):
    assert document(alb_from("::ffff:81.2.69.142"), enricher)["source"]["geo"]["city_name"] == "London"


@pytest.fixture(scope="module")
def sparse_databases(tmp_path_factory):
    """Records with parts missing, as real databases have: a country only by registration, no location,
    an AS with no organization, an AS record without a number."""
    import geoip_testdb
    from mmdb_writer import MmdbU32
    from netaddr import IPSet

    directory = tmp_path_factory.mktemp("sparse")
    city, asn = geoip_testdb._writer("GeoLite2-City"), geoip_testdb._writer("GeoLite2-ASN")
    city.insert_network(IPSet(["81.2.69.0/24"]), {"registered_country": {"iso_code": "GB", "names": {"en": "United Kingdom"}}})
    city.insert_network(IPSet(["89.160.20.0/24"]), {"continent": {"code": "EU"}})
    # neighbours: one network's members must never be taken for the next one's
    for cidr, code, name in (("81.2.68.0/24", "IE", "Ireland"), ("2a01:4f8::/32", "DE", "Germany"),
                             ("2a01:4f9::/32", "FR", "France")):
        city.insert_network(IPSet([cidr]), {"country": {"iso_code": code, "names": {"en": name}}})
    asn.insert_network(IPSet(["81.2.69.0/24"]), {"autonomous_system_number": MmdbU32(20712)})
    asn.insert_network(IPSet(["89.160.20.0/24"]), {"autonomous_system_organization": "Bredband2 AB"})
    city.to_db_file(str(directory / "city.mmdb"))
    asn.to_db_file(str(directory / "asn.mmdb"))
    return Enricher(str(directory / "city.mmdb"), str(directory / "asn.mmdb"))


def test_a_record_with_parts_missing_gives_the_parts_it_has(sparse_databases):
    registered = document(alb_from("81.2.69.142"), sparse_databases)["source"]
    nothing_usable = document(alb_from("89.160.20.112"), sparse_databases)["source"]

    assert registered["geo"] == {"country_iso_code": "GB", "country_name": "United Kingdom"}
    assert registered["as"] == {"number": 20712}
    assert nothing_usable == {"ip": "89.160.20.112", "port": 2817}


def test_neighbouring_networks_keep_their_own_places(sparse_databases):
    countries = [document(alb_from(client), sparse_databases)["source"]["geo"]["country_iso_code"]
                 for client in ("81.2.69.142", "81.2.68.7", "2a01:4f8::1", "2a01:4f9::1", "81.2.69.1")]

    assert countries == ["GB", "IE", "DE", "FR", "GB"]


def test_an_s3_access_log_remote_ip_is_placed(enricher):
    line = S3_GET.replace(" 192.0.2.3 ", " 177.72.10.20 ")

    source = document(line, enricher, S3)["source"]

    assert source["geo"]["country_name"] == "Brazil" and source["as"]["organization"]["name"].startswith("Claro")


@pytest.mark.parametrize("address,public", [
    ("81.2.69.142", True), ("2a01:4f8::1", True), ("::ffff:81.2.69.142", True), ("8.8.8.8", True),
    ("10.1.2.3", False), ("192.168.0.1", False), ("100.127.255.255", False), ("198.18.0.1", False),
    ("203.0.113.9", False), ("224.0.0.251", False), ("255.255.255.255", False), ("0.0.0.0", False),
    ("2001:db8::1", False), ("fc00::1", False), ("ff02::1", False), ("::", False), ("not-an-ip", False), ("", False),
])
def test_which_addresses_can_have_a_place(address, public):
    assert is_public(address) is public


# -- user agents ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("agent,expected", [
    (CHROME_ON_WINDOWS, {"name": "Chrome", "version": "131.0.0", "os": {"name": "Windows", "version": "10"}}),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
     {"name": "Safari", "version": "17.1", "os": {"name": "Mac OS X", "version": "10.15.7"}, "device": {"name": "Mac"}}),
    ("Mozilla/5.0 (X11; Linux x86_64) Other/1.0", {"os": {"name": "Linux"}}),  # an OS, no browser, no version
    (SAFARI_ON_IPHONE, {"name": "Mobile Safari", "version": "17.1", "os": {"name": "iOS", "version": "17.1"},
                        "device": {"name": "iPhone"}}),
    ("aws-cli/2.17.0 Python/3.11", {"name": "aws-cli", "version": "2.17.0"}),
])
def test_user_agents_get_browser_version_os_and_device(enricher, agent, expected):
    assert document(alb_from("10.0.0.1", agent), enricher)["user_agent"] == {"original": agent, **expected}


def test_the_aws_documentation_s3_console_agent_keeps_its_original(enricher):
    user_agent = document(S3_GET, enricher, S3)["user_agent"]

    assert user_agent["original"] == "S3Console/0.4"


def test_an_agent_nobody_knows_keeps_only_its_original(enricher):
    assert document(alb_from("10.0.0.1", "in-house-poller"), enricher)["user_agent"] == {"original": "in-house-poller"}


def test_an_agent_with_a_backslash_is_parsed_as_written_and_the_document_stays_json(enricher):
    agent = CHROME_ON_WINDOWS + " \\x41"  # a backslash: escaped in the JSON, unescaped for the parser
    line = S3_GET.replace('"S3Console/0.4"', f'"{agent}"')
    parsed, parse = [], enricher._parse_ua
    enricher._parse_ua = lambda text: parsed.append(text) or parse(text)

    user_agent = document(line, enricher, S3)["user_agent"]

    assert user_agent["original"] == agent and user_agent["name"] == "Chrome"
    assert parsed == [agent]


# -- on both paths, at no cost when off ------------------------------------------------------------------


def test_each_distinct_address_and_agent_is_looked_up_once_per_invocation(enricher):
    misses = []
    geo_miss, ua_miss = enricher.geo_miss, enricher.ua_miss
    enricher.geo_miss = lambda key: misses.append(key) or geo_miss(key)
    enricher.ua_miss = lambda key: misses.append(key) or ua_miss(key)
    lines = [alb_from("81.2.69.142").encode()] * 3 + [alb_from("81.2.69.143").encode()]

    BulkEncoder(ALB, "s3://b/k", native=False, enricher=enricher).encode(lines, 1)
    enricher.new_invocation()
    BulkEncoder(ALB, "s3://b/k", native=False, enricher=enricher).encode(lines[:1], 1)

    assert misses == [b"81.2.69.142", b"curl/7.46.0", b"81.2.69.143", b"81.2.69.142", b"curl/7.46.0"]


def test_nothing_configured_means_no_enricher_and_any_one_setting_makes_one(geoip_databases, tmp_path):
    city, asn = geoip_databases
    s3 = FakeS3({("geo-bucket", "asn.mmdb"): asn.read_bytes()})

    assert from_settings(None, None, False) is None
    assert from_settings(str(city), None, False).geo_miss is not None
    assert from_settings(None, "s3://geo-bucket/asn.mmdb", False, s3_client_factory=lambda: s3,
                         download_dir=tmp_path).geo_miss is not None
    assert from_settings(None, None, True).ua_miss is not None


def test_the_caches_are_bounded_and_start_afresh_when_full(enricher, monkeypatch):
    import ingest.enrich

    monkeypatch.setattr(ingest.enrich, "MAX_CACHED", 2)
    for n in range(3):
        enricher.geo_miss(f"81.2.69.{n + 1}".encode())
        enricher.ua_miss(f"curl/8.{n}.0".encode())

    assert list(enricher.geo) == [b"81.2.69.3"] and list(enricher.ua) == [b"curl/8.2.0"]


@pytest.mark.parametrize("module,setting,message", [
    ("maxminddb", {"city_db": "/opt/GeoLite2-City.mmdb"}, "a GeoIP City database is configured but maxminddb is not installed"),
    ("ua_parser", {"user_agents": True}, "user-agent parsing is on but ua-parser is not installed"),
])
def test_a_missing_library_is_one_line_saying_what_to_install(monkeypatch, module, setting, message):
    monkeypatch.setitem(sys.modules, module, None)  # import fails

    with pytest.raises(EnrichError) as caught:
        Enricher(**setting)

    assert str(caught.value) == f"{message} (pip install 'access-logs-to-opensearch[enrich]')"


def test_enrichment_off_imports_neither_maxminddb_nor_ua_parser():
    script = ("import sys; import ingest.handler, ingest.cli; from ingest.bulk import BulkEncoder; "
              "from ingest.formats import ALB; from ingest.enrich import from_settings; "
              "assert from_settings(None, None, False) is None; "
              f"BulkEncoder(ALB, 's3://b/k').encode([{ALB_HTTP.encode()!r}], 1); "
              "print(sorted(m for m in sys.modules if m.startswith(('maxminddb', 'ua_parser'))))")
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "[]"


def test_without_enrichment_documents_are_unchanged(enricher):
    line = alb_from("81.2.69.142", CHROME_ON_WINDOWS)
    plain, enriched = document(line, None), document(line, enricher)

    for member in ("geo", "as"):
        enriched["source"].pop(member)
    enriched["user_agent"] = {"original": enriched["user_agent"]["original"]}
    assert plain == enriched


# -- where the databases come from -------------------------------------------------------------------


def test_a_missing_database_is_one_line_naming_it(tmp_path):
    with pytest.raises(EnrichError, match=r"^GeoIP City database .*nope\.mmdb: No such file or directory; check the path$"):
        Enricher(str(tmp_path / "nope.mmdb"))


def test_a_file_that_is_not_a_maxmind_database_is_one_line_naming_it(tmp_path):
    bad = tmp_path / "GeoLite2-ASN.mmdb"
    bad.write_bytes(b"not a database")

    with pytest.raises(EnrichError, match=r"^GeoIP ASN database .* is not a MaxMind-format \(\.mmdb\) database$"):
        Enricher(asn_db=str(bad))


class FakeS3:
    def __init__(self, objects: dict[tuple[str, str], bytes]):
        self.objects, self.downloads = objects, []

    def download_file(self, bucket: str, key: str, filename: str) -> None:
        self.downloads.append((bucket, key))
        if (bucket, key) not in self.objects:
            raise FileNotFoundError(f"An error occurred (404) when calling the HeadObject operation: Not Found")
        Path(filename).write_bytes(self.objects[(bucket, key)])


def test_databases_on_s3_are_fetched_once_into_tmp_and_read_from_there(geoip_databases, tmp_path):
    city, asn = geoip_databases
    s3 = FakeS3({("geo-bucket", "geoip/GeoLite2-City.mmdb"): city.read_bytes(),
                 ("geo-bucket", "geoip/GeoLite2-ASN.mmdb"): asn.read_bytes()})

    enricher = Enricher("s3://geo-bucket/geoip/GeoLite2-City.mmdb", "s3://geo-bucket/geoip/GeoLite2-ASN.mmdb",
                        s3_client_factory=lambda: s3, download_dir=tmp_path / "geoip")

    assert s3.downloads == [("geo-bucket", "geoip/GeoLite2-City.mmdb"), ("geo-bucket", "geoip/GeoLite2-ASN.mmdb")]
    assert (tmp_path / "geoip" / "geo-bucket" / "geoip" / "GeoLite2-City.mmdb").read_bytes() == city.read_bytes()
    assert document(alb_from("81.2.69.142"), enricher)["source"]["geo"]["city_name"] == "London"


def test_a_database_that_cannot_be_fetched_is_one_line_naming_the_uri(tmp_path):
    with pytest.raises(EnrichError) as caught:
        Enricher(asn_db="s3://geo-bucket/missing.mmdb", s3_client_factory=lambda: FakeS3({}),
                 download_dir=tmp_path)

    message = str(caught.value)
    assert message.startswith("GeoIP ASN database s3://geo-bucket/missing.mmdb could not be downloaded "
                              "(FileNotFoundError: ")
    assert "s3:GetObject" in message and "\n" not in message
    assert list(tmp_path.rglob("*.partial")) == []


@pytest.mark.parametrize("uri", ["s3://geo-bucket", "s3://geo-bucket/", "s3:///GeoLite2-City.mmdb"])
def test_an_s3_uri_without_bucket_or_key_is_one_line(uri, tmp_path):
    with pytest.raises(EnrichError, match=r"^GeoIP City database must be a path or s3://bucket/key; got "):
        Enricher(uri, s3_client_factory=lambda: FakeS3({}), download_dir=tmp_path)


def test_without_a_client_given_the_database_is_fetched_with_the_default_s3_client(geoip_databases, tmp_path,
                                                                                monkeypatch):
    import boto3
    from moto import mock_aws

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="geo-bucket")
        boto3.client("s3").put_object(Bucket="geo-bucket", Key="city.mmdb", Body=geoip_databases[0].read_bytes())

        enricher = Enricher("s3://geo-bucket/city.mmdb", download_dir=tmp_path)

    assert document(alb_from("81.2.69.142"), enricher)["source"]["geo"]["city_name"] == "London"


def no_duplicate_keys(pairs):
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), f"duplicate keys {keys}"  # OpenSearch rejects the document
    return dict(pairs)


def test_a_cloudfront_v2_record_with_its_own_asn_and_country_gets_one_source_geo_and_as(enricher):
    # Standard logging v2 can log the viewer's `asn` and `c-country` itself: they stay under
    # aws.cloudfront, so GeoIP's "geo" and "as" are the only ones in `source`.
    record = {"timestamp(ms)": 1731620046814, "c-ip": "81.2.69.142", "sc-status": 200, "time-taken": 0.25,
              "x-edge-location": "SOF50-P2", "asn": 20712, "c-country": "GB"}
    encoder = BulkEncoder(FORMATS["cloudfront"], "s3://bucket/key", key=KeyInfo(), enricher=enricher)
    [item], failures = encoder.encode([json.dumps(record).encode()], 1)
    doc = json.loads(item.body.split(b"\n")[1], object_pairs_hook=no_duplicate_keys)
    source = doc["source"]

    assert failures == 0
    assert source["geo"]["city_name"] == "London" and source["as"]["organization"]["name"] == "Andrews & Arnold Ltd"
    assert (doc["aws"]["cloudfront"]["asn"], doc["aws"]["cloudfront"]["c_country"]) == (20712, "GB")
    assert item.body.count(b'"geo":') == 1 and item.body.count(b'"as":') == 1
