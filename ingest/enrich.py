"""Optional enrichment of every document: where the client is (GeoIP) and what it runs (user agent).

- GeoIP: `source.geo.*` (country_iso_code, country_name, region_name, city_name, location) from a
  MaxMind-format City database and `source.as.number`, `source.as.organization.name` from an ASN one
  (GeoLite2 or DB-IP Lite), read with maxminddb. Private and reserved addresses get nothing, whatever
  a database says. Only `source.ip` is looked up: the other address ALB logs carry is its target's,
  a private address in the VPC.
- User agents: `user_agent.name`, `version`, `os.name`, `os.version`, `device.name` with ua-parser
  (its Rust accelerator, ua-parser-rs, when installed: about 10x faster per new string).

Both are off unless configured, and nothing of them is imported then (ua-parser costs about 0.3 s at
cold start). Documents are JSON text, not dicts (ingest/formats/base.py), so the enricher gives, per
distinct address or user-agent string, the JSON members to insert right after `"source":{"ip":"…"`
and after `"user_agent":{"original":"…"`: the C accelerator inserts the same bytes from the same
caches (ingest/_native.c), the Python path with `apply`, so both write the same document and any
format that has `source.ip` or `user_agent.original` is enriched without code of its own.
The caches live for one invocation (`new_invocation`); real logs repeat their clients and agents,
so most lines cost one dictionary look-up.
"""
from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from socket import AF_INET, AF_INET6, inet_ntop, inet_pton
from typing import Callable

import orjson

from .errors import UserError

MAX_CACHED = 200_000  # distinct addresses (or agents) kept per invocation: a bound on memory, not a tuning knob
DOWNLOAD_DIR = Path("/tmp/geoip")  # where s3:// databases are fetched, once per cold start
_SOURCE_IP = re.compile(r'"source":\{"ip":"([^"]*)"')
_USER_AGENT = re.compile(r'"user_agent":\{"original":"((?:[^"\\]|\\.)*)"')


# Addresses that are never a place (IANA special-purpose registries): checked as integer ranges
# because ipaddress's is_global costs ~30 us an address on Python 3.11, more than both look-ups.
# (224/3 is multicast, the reserved 240/4 and the broadcast address.)
_NOT_GLOBAL_V4 = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
    "203.0.113.0/24", "224.0.0.0/3")]
_NOT_GLOBAL_V6 = [ipaddress.ip_network(n) for n in ("2001::/23", "2001:db8::/32", "2002::/16")]
_RANGES_V4 = [(int(n.network_address), int(n.broadcast_address)) for n in _NOT_GLOBAL_V4]
_RANGES_V6 = [(int(n.network_address), int(n.broadcast_address)) for n in _NOT_GLOBAL_V6]


def is_public(ip: str) -> bool:
    """Whether an address can have a place: not private, loopback, link-local, shared (CGNAT),
    documentation, benchmarking, multicast or reserved. False for what is not an address."""
    return _public_address(ip) is not None


def _public_address(ip: str) -> tuple[int, int] | None:
    """(the address as an integer, its bit length) when it is public, else None."""
    try:
        packed = inet_pton(AF_INET6 if ":" in ip else AF_INET, ip)
    except (OSError, ValueError):
        return None
    value = int.from_bytes(packed, "big")
    bits, ranges = 32, _RANGES_V4
    if len(packed) == 16:
        if value >> 32 == 0xFFFF:  # ::ffff:a.b.c.d, an IPv4 address
            value &= 0xFFFFFFFF
        elif value >> 125 != 1:  # outside 2000::/3, the global unicast space
            return None
        else:
            bits, ranges = 128, _RANGES_V6
    for low, high in ranges:
        if low <= value <= high:
            return None
    return value, bits


class EnrichError(UserError):
    """A database that cannot be read or ua-parser not installed; the message names the setting."""


def _string(value: str) -> str:
    return orjson.dumps(value).decode()


class Enricher:
    """Per-invocation caches around the City and ASN readers and the user-agent parser.

    `geo` and `ua` are the caches the C accelerator reads ({bytes: bytes}); `geo_miss` and `ua_miss`
    fill them (None when that half is off)."""

    def __init__(self, city_db: str | None = None, asn_db: str | None = None, user_agents: bool = False, *,
                 s3_client_factory: Callable[[], object] | None = None, download_dir: Path | None = None):
        download_dir = download_dir or DOWNLOAD_DIR
        self._city = _open_database(city_db, "City", s3_client_factory, download_dir) if city_db else None
        self._asn = _open_database(asn_db, "ASN", s3_client_factory, download_dir) if asn_db else None
        self._parse_ua = _user_agent_parser() if user_agents else None
        self.geo: dict[bytes, bytes] = {}
        self._networks: dict[tuple, str] = {}  # members per database network, kept across invocations
        self.ua: dict[bytes, bytes] = {}
        self.geo_miss = self._geo_miss if self._city is not None or self._asn is not None else None
        self.ua_miss = self._ua_miss if self._parse_ua is not None else None

    @property
    def enabled(self) -> bool:
        return self.geo_miss is not None or self.ua_miss is not None

    def new_invocation(self) -> None:
        """Forget what the last invocation looked up (a database may be replaced by the next cold start,
        not within one; the bound is on memory)."""
        self.geo.clear()
        self.ua.clear()

    def apply(self, members: str) -> str:
        """A document's JSON members with the enrichment inserted (the Python path)."""
        if self.geo_miss is not None:
            members = _insert(members, _SOURCE_IP, self.geo, self.geo_miss)
        if self.ua_miss is not None:
            members = _insert(members, _USER_AGENT, self.ua, self.ua_miss)
        return members

    def _geo_miss(self, ip: bytes) -> bytes:
        extra = self._geo_members(ip.decode())
        if len(self.geo) >= MAX_CACHED:
            self.geo.clear()
        self.geo[ip] = extra
        return extra

    def _ua_miss(self, text: bytes) -> bytes:
        # `text` is the JSON string's inside: escapes only when the line had any.
        original = orjson.loads(b'"' + text + b'"') if b"\\" in text else text.decode()
        extra = self._ua_members(original)
        if len(self.ua) >= MAX_CACHED:
            self.ua.clear()
        self.ua[text] = extra
        return extra

    def _geo_members(self, ip: str) -> bytes:
        address = _public_address(ip)
        if address is None:
            return b""
        if address[1] == 32 and ":" in ip:  # ::ffff:a.b.c.d: looked up as the IPv4 address it is
            ip = inet_ntop(AF_INET, address[0].to_bytes(4, "big"))
        return (_by_network(self._city, ip, address, self._networks, _city_members)
                + _by_network(self._asn, ip, address, self._networks, _as_members)).encode()

    def _ua_members(self, original: str) -> bytes:
        result = self._parse_ua(original)
        out = []
        agent = result.user_agent  # each part is None where the rules found nothing
        if agent is not None:
            out.append('"name":' + _string(agent.family))
            version = _version(agent.major, agent.minor, agent.patch)
            if version:
                out.append('"version":' + _string(version))
        system = result.os
        if system is not None:
            version = _version(system.major, system.minor, system.patch)
            out.append('"os":{"name":' + _string(system.family)
                       + (',"version":' + _string(version) if version else "") + "}")
        device = result.device
        if device is not None:
            out.append('"device":{"name":' + _string(device.family) + "}")
        return ("," + ",".join(out)).encode() if out else b""


def _insert(members: str, value: re.Pattern, cache: dict, miss: Callable[[bytes], bytes]) -> str:
    """`members` with the cached members for `value`'s string (group 1) inserted right after it."""
    match = value.search(members)
    if match is None:
        return members
    key = match.group(1).encode()
    extra = cache.get(key)
    if extra is None:
        extra = miss(key)
    return members[:match.end()] + extra.decode() + members[match.end():] if extra else members


def _by_network(reader, ip: str, address: tuple[int, int], cache: dict, members: Callable[[dict], str]) -> str:
    """The members for the database record of `ip`, built once per network the database names
    (clients come in networks: the members of the next address in one cost a look-up, not a build)."""
    if reader is None:
        return ""
    record, prefix_length = reader.get_with_prefix_len(ip)
    if not record:
        return ""
    value, bits = address
    network = (members, bits, prefix_length, value >> (bits - prefix_length))
    text = cache.get(network)
    if text is None:
        text = cache[network] = members(record)
    return text


def _city_members(city: dict) -> str:
    geo = []
    country = city.get("country") or city.get("registered_country") or {}
    if country.get("iso_code"):
        geo.append('"country_iso_code":' + _string(country["iso_code"]))
    name = (country.get("names") or {}).get("en")
    if name:
        geo.append('"country_name":' + _string(name))
    region = ((city.get("subdivisions") or [{}])[0].get("names") or {}).get("en")
    if region:
        geo.append('"region_name":' + _string(region))
    city_name = ((city.get("city") or {}).get("names") or {}).get("en")
    if city_name:
        geo.append('"city_name":' + _string(city_name))
    location = city.get("location") or {}
    lat, lon = location.get("latitude"), location.get("longitude")
    if lat is not None and lon is not None:
        geo.append(f'"location":{{"lat":{float(lat)!r},"lon":{float(lon)!r}}}')
    return ',"geo":{' + ",".join(geo) + "}" if geo else ""


def _as_members(asn: dict) -> str:
    number = asn.get("autonomous_system_number")
    if number is None:
        return ""
    organization = asn.get("autonomous_system_organization")
    return (',"as":{"number":' + str(int(number))
            + (',"organization":{"name":' + _string(organization) + "}" if organization else "") + "}")


def _version(*parts: str | None) -> str:
    taken = []
    for part in parts:
        if not part:
            break
        taken.append(part)
    return ".".join(taken)


def _user_agent_parser() -> Callable:
    try:
        from ua_parser import parse  # imported only when the feature is on: ~0.3 s at cold start
    except ImportError as error:
        raise EnrichError("user-agent parsing is on but ua-parser is not installed "
                          "(pip install 'access-logs-to-opensearch[enrich]')") from error
    return parse


def _open_database(location: str, kind: str, s3_client_factory, download_dir: Path):
    """A maxminddb reader for the `kind` (City, ASN) database at a path or s3:// URI."""
    try:
        import maxminddb
    except ImportError as error:
        raise EnrichError(f"a GeoIP {kind} database is configured but maxminddb is not installed "
                          "(pip install 'access-logs-to-opensearch[enrich]')") from error
    path = location
    if location.startswith("s3://"):
        path = str(_download(location, kind, s3_client_factory, download_dir))
    try:
        return maxminddb.open_database(path, maxminddb.MODE_AUTO)
    except OSError as error:
        raise EnrichError(f"GeoIP {kind} database {location}: {error.strerror or error}; check the path") from error
    except (maxminddb.InvalidDatabaseError, ValueError) as error:
        raise EnrichError(f"GeoIP {kind} database {location} is not a MaxMind-format (.mmdb) database") from error


def _download(uri: str, kind: str, s3_client_factory, download_dir: Path) -> Path:
    bucket, _, key = uri[len("s3://"):].partition("/")
    if not bucket or not key:
        raise EnrichError(f"GeoIP {kind} database must be a path or s3://bucket/key; got {uri!r}")
    target = download_dir / bucket / key
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + f".{os.getpid()}.partial")
    try:
        client = s3_client_factory() if s3_client_factory is not None else _s3_client()
        client.download_file(bucket, key, str(partial))
    except Exception as error:  # botocore's ClientError and friends: one line naming the setting
        partial.unlink(missing_ok=True)
        raise EnrichError(f"GeoIP {kind} database {uri} could not be downloaded ({type(error).__name__}: "
                          f"{error}); check the URI and that the function may s3:GetObject it") from error
    partial.replace(target)
    return target


def _s3_client():
    import boto3

    return boto3.client("s3")


def from_settings(city_db: str | None, asn_db: str | None, user_agents: bool, **kwargs) -> Enricher | None:
    """An Enricher, or None when nothing is configured (then nothing of it is imported or run)."""
    if not (city_db or asn_db or user_agents):
        return None
    return Enricher(city_db, asn_db, user_agents, **kwargs)
