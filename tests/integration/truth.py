"""The answers the users' questions should get, computed from the generated log files alone.

Deliberately independent of ingest/: the lines are split with one regular expression (quoted
strings, the bracketed S3 time, or runs of non-blanks) and the fields are read by their position in
the AWS documentation. A line that does not have the shape of a record is counted as unparsable.
"""
from __future__ import annotations

import gzip
import ipaddress
import json
import re
import urllib.parse
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

# generate_logs.py's folder per family (the format's name in ingest.formats.FORMATS).
FAMILY_FOLDERS = {"alb": "alb", "s3-access": "s3-access", "nlb": "nlb", "clb": "clb",
                  "alb-connection": "alb-connection", "alb-health-check": "alb-health-check",
                  "cloudfront": "cloudfront"}
TOKEN = re.compile(r'"[^"]*"|\[[^\]]*\]|\S+')
ALB_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$")
S3_TIME = re.compile(r"^\[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\]$")


def unquote(token: str) -> str:
    return token[1:-1] if len(token) >= 2 and token[0] == token[-1] == '"' else token


def ip(text: str) -> str:
    """One spelling per address (OpenSearch answers IPv6 in its canonical form)."""
    return str(ipaddress.ip_address(text))


def host_of(address_and_port: str) -> str:
    return ip(address_and_port.rsplit(":", 1)[0])


def network_of(client: str | None):
    """The network of the GeoIP test databases (scripts/geoip_testdb.py) a client is in, if any: its
    place and AS (private and documentation addresses are in none, or get none)."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
    from geoip_testdb import NETWORKS

    if client in (None, "-"):
        return None
    address = ipaddress.ip_address(client)
    if not address.is_global:
        return None
    return next((n for n in NETWORKS if address in ipaddress.ip_network(n.cidr)), None)


def percentile_band(values: list[float], percent: float, slack: float = 1.5) -> tuple[float, float]:
    """The values between the (percent - slack) and (percent + slack) ranks: where any reasonable
    percentile estimate (OpenSearch uses t-digest) must land."""
    ordered = sorted(values)
    last = len(ordered) - 1

    def at(p: float) -> float:
        return ordered[min(last, max(0, round(last * p / 100)))]

    return at(percent - slack), at(percent + slack)


@dataclass
class AlbRecord:
    time: datetime
    client: str
    target: str | None
    target_time: float | None  # None when AWS logged -1
    elb_status: int
    target_status: int | None
    sent: int
    method: str
    url: str
    user_agent: str | None
    actions: list[str]
    error_reason: str | None


@dataclass
class S3Record:
    time: datetime
    client: str
    requester: str | None
    operation: str
    key: str | None
    status: int
    error_code: str | None
    bytes_sent: int
    total_time: int | None
    bucket: str


@dataclass
class NlbRecord:
    client: str
    listener: str
    port: int
    handshake_ms: float | None  # None: `-`, the handshake failed
    alert: int | None
    version: str | None  # as ECS writes it: tlsv12 → 1.2
    cipher: str | None
    received: int
    sent: int


@dataclass
class ClbRecord:
    client: str
    backend: str | None
    backend_time: float | None  # None when AWS logged -1
    elb_status: int | None  # None on TCP and SSL listeners
    backend_status: int | None
    method: str | None


@dataclass
class CloudFrontRecord:
    client: str
    status: int
    result: str  # x-edge-result-type
    bytes_sent: int
    time_taken: float
    uri: str
    referrer: str | None  # decoded, as the documents hold it
    user_agent: str | None  # decoded


@dataclass
class Unparsable:
    path: Path
    line_number: int
    line: str


@dataclass
class ConnectionRecord:
    client: str
    listener_port: int
    handshake_latency: float | None
    subject: str | None
    not_after: str | None
    verify_status: str | None


@dataclass
class HealthCheckRecord:
    time: datetime
    target: str
    target_group: str
    status: str
    status_code: int | None
    reason: str | None
    latency: float | None


@dataclass
class Truth:
    alb: list[AlbRecord] = field(default_factory=list)
    s3: list[S3Record] = field(default_factory=list)
    nlb: list[NlbRecord] = field(default_factory=list)
    clb: list[ClbRecord] = field(default_factory=list)
    unparsable: dict[str, list[Unparsable]] = field(default_factory=lambda: {f: [] for f in FAMILY_FOLDERS.values()})
    lines: dict[str, int] = field(default_factory=lambda: {f: 0 for f in FAMILY_FOLDERS.values()})
    connections: list[ConnectionRecord] = field(default_factory=list)
    health_checks: list[HealthCheckRecord] = field(default_factory=list)
    cloudfront: list[CloudFrontRecord] = field(default_factory=list)
    header_lines: int = 0  # CloudFront's W3C #Version and #Fields lines: neither records nor unparsable

    @classmethod
    def from_folder(cls, folder: Path) -> Truth:
        """The generator writes each format under its own folder: DIR/<format>/…"""
        truth = cls()
        records = {"alb": (_alb, truth.alb), "s3-access": (_s3, truth.s3), "nlb": (_nlb, truth.nlb),
                   "clb": (_clb, truth.clb), "alb-connection": (_connection, truth.connections),
                   "alb-health-check": (_health_check, truth.health_checks)}
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            family = FAMILY_FOLDERS[path.relative_to(folder).parts[0]]  # generate_logs.py writes one folder each
            data = path.read_bytes()
            text = (gzip.decompress(data) if path.suffix == ".gz" else data).decode()
            if family == "cloudfront":  # its lines depend on the #Fields header before them
                truth._cloudfront_file(path, text)
                continue
            parse, found = records[family]
            for number, line in enumerate(text.splitlines(), 1):
                truth.lines[family] += 1
                record = parse(line)
                if record is None:
                    truth.unparsable[family].append(Unparsable(path, number, line))
                else:
                    found.append(record)
        return truth

    def _cloudfront_file(self, path: Path, text: str) -> None:
        columns = CLOUDFRONT_LEGACY
        for number, line in enumerate(text.splitlines(), 1):
            if line.startswith("#"):
                self.header_lines += 1
                if line.startswith("#Fields: "):
                    columns = line[len("#Fields: "):].split()
                continue
            self.lines["cloudfront"] += 1
            record = _cloudfront(line, columns)
            if record is None:
                self.unparsable["cloudfront"].append(Unparsable(path, number, line))
            else:
                self.cloudfront.append(record)

    # -- answers ------------------------------------------------------------------------------

    def alb_status_classes(self) -> dict[str, int]:
        return dict(Counter(f"{r.elb_status // 100}xx" for r in self.alb))

    def alb_clients(self) -> Counter:
        return Counter(r.client for r in self.alb)

    def alb_bytes_sent_by_client(self) -> dict[str, int]:
        sums: dict[str, int] = defaultdict(int)
        for r in self.alb:
            sums[r.client] += r.sent
        return sums

    def alb_target_times(self) -> list[float]:
        return [r.target_time for r in self.alb if r.target_time is not None]

    def alb_target_times_by_target(self) -> dict[str, list[float]]:
        out: dict[str, list[float]] = defaultdict(list)
        for r in self.alb:
            if r.target is not None and r.target_time is not None:
                out[r.target].append(r.target_time)
        return out

    def alb_5xx_by_target(self) -> Counter:
        return Counter(r.target for r in self.alb if r.target is not None and
                       (r.elb_status >= 500 or (r.target_status or 0) >= 500))

    def alb_actions(self) -> Counter:
        return Counter(action for r in self.alb for action in r.actions)

    def alb_user_agents(self) -> Counter:
        return Counter(r.user_agent for r in self.alb if r.user_agent is not None)

    def alb_never_reached_target_by_status(self) -> Counter:
        return Counter(r.elb_status for r in self.alb if r.target_time is None)

    def by_country(self) -> dict[str, tuple[int, set, int]]:
        """Country → (requests, clients, bytes sent), ALB and S3 together."""
        out: dict[str, tuple[int, set, int]] = {}
        for client, sent in [(r.client, r.sent) for r in self.alb] + [(r.client, r.bytes_sent) for r in self.s3]:
            network = network_of(client)
            if network:
                requests, clients, total = out.get(network.country_name, (0, set(), 0))
                out[network.country_name] = (requests + 1, clients | {client}, total + sent)
        return out

    def alb_5xx_networks(self) -> Counter:
        return Counter(n.organization for r in self.alb if r.elb_status >= 500
                       and (n := network_of(r.client)) and n.organization)

    def s3_denied_countries(self) -> Counter:
        return Counter(n.country_name for r in self.s3 if r.status == 403 and (n := network_of(r.client)))

    def cloudfront_by_result(self) -> dict[str, tuple[int, int]]:
        """(requests, bytes sent) per edge result type."""
        out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for r in self.cloudfront:
            out[r.result][0] += 1
            out[r.result][1] += r.bytes_sent
        return {k: (n, b) for k, (n, b) in out.items()}

    def cloudfront_uris(self) -> Counter:
        return Counter(r.uri for r in self.cloudfront)

    def cloudfront_referrers(self) -> Counter:
        return Counter(r.referrer for r in self.cloudfront if r.referrer)

    def cloudfront_user_agents(self) -> Counter:
        return Counter(r.user_agent for r in self.cloudfront if r.user_agent)

    def cloudfront_times_taken(self) -> list[float]:
        return [r.time_taken for r in self.cloudfront]

    def s3_denied_ips(self) -> Counter:
        return Counter(r.client for r in self.s3 if r.status == 403)

    def s3_denied_keys(self) -> Counter:
        return Counter(r.key for r in self.s3 if r.status == 403 and r.key is not None)

    def s3_downloads(self) -> dict[str, tuple[int, int, int]]:
        """key → (bytes sent, requests, distinct clients) for REST.GET.OBJECT."""
        sums, counts, clients = defaultdict(int), Counter(), defaultdict(set)
        for r in self.s3:
            if r.operation == "REST.GET.OBJECT" and r.key is not None:
                sums[r.key] += r.bytes_sent
                counts[r.key] += 1
                clients[r.key].add(r.client)
        return {key: (sums[key], counts[key], len(clients[key])) for key in counts}

    def s3_total_times_by_operation(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = defaultdict(list)
        for r in self.s3:
            if r.total_time is not None:
                out[r.operation].append(r.total_time)
        return out

    def s3_error_codes(self) -> Counter:
        return Counter(r.error_code for r in self.s3 if r.error_code is not None)

    def s3_requesters(self) -> Counter:
        return Counter(r.requester for r in self.s3 if r.requester is not None)

    def connection_failures(self) -> Counter:
        return Counter(r.verify_status for r in self.connections if (r.verify_status or "").startswith("Failed:"))

    def client_certificates(self) -> dict[str, tuple[int, str]]:
        """subject → (connections, NotAfter)."""
        counts = Counter(r.subject for r in self.connections if r.subject is not None)
        return {subject: (n, next(r.not_after for r in self.connections if r.subject == subject))
                for subject, n in counts.items()}

    def handshake_latencies_by_listener(self) -> dict[int, list[float]]:
        out: dict[int, list[float]] = defaultdict(list)
        for r in self.connections:
            if r.handshake_latency is not None:
                out[r.listener_port].append(r.handshake_latency)
        return out

    def failing_targets(self) -> dict[str, Counter]:
        """target → Counter of the reasons of its failed checks."""
        out: dict[str, Counter] = defaultdict(Counter)
        for r in self.health_checks:
            if r.status == "FAIL":
                out[r.target][r.reason] += 1
        return out

    def health_checks_by_group(self) -> dict[str, tuple[int, int]]:
        """target group → (checks, failed checks)."""
        checks, failed = Counter(), Counter()
        for r in self.health_checks:
            checks[r.target_group] += 1
            failed[r.target_group] += r.status == "FAIL"
        return {group: (checks[group], failed[group]) for group in checks}

    def s3_deletes(self) -> int:
        return sum(r.operation in ("REST.DELETE.OBJECT", "REST.POST.MULTI_OBJECT_DELETE") for r in self.s3)

    def nlb_failed_handshakes_by_alert(self) -> Counter:
        return Counter(r.alert for r in self.nlb if r.handshake_ms is None and r.alert is not None)

    def nlb_handshake_times_by_listener(self) -> dict[str, list[float]]:
        out: dict[str, list[float]] = defaultdict(list)
        for r in self.nlb:
            if r.handshake_ms is not None:
                out[r.listener].append(r.handshake_ms)
        return out

    def nlb_versions(self) -> Counter:
        return Counter(r.version for r in self.nlb if r.version is not None)

    def nlb_clients(self) -> Counter:
        return Counter(r.client for r in self.nlb)

    def nlb_bytes_by_client(self) -> dict[str, tuple[int, int]]:
        """client → (bytes received, bytes sent)."""
        sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for r in self.nlb:
            sums[r.client][0] += r.received
            sums[r.client][1] += r.sent
        return {client: (received, sent) for client, (received, sent) in sums.items()}

    def clb_status_classes(self) -> dict[str, int]:
        return dict(Counter(f"{r.elb_status // 100}xx" for r in self.clb if r.elb_status is not None))

    def clb_lb_5xx(self) -> int:
        return sum(r.elb_status is not None and r.elb_status >= 500 and r.backend_status is None for r in self.clb)

    def clb_backend_times_by_backend(self) -> dict[str, list[float]]:
        out: dict[str, list[float]] = defaultdict(list)
        for r in self.clb:
            if r.backend is not None and r.backend_time is not None:
                out[r.backend].append(r.backend_time)
        return out


def _number(token: str) -> int | None:
    return None if token == "-" else int(token)


def _alb(line: str) -> AlbRecord | None:
    f = TOKEN.findall(line)
    if len(f) < 12 or not ALB_TIME.match(f[1]) or ":" not in f[3]:
        return None
    request = unquote(f[12]).split(" ")
    target_time = float(f[6])
    agent = unquote(f[13])
    return AlbRecord(
        time=datetime.fromisoformat(f[1].replace("Z", "+00:00")),
        client=host_of(f[3]),
        target=None if f[4] == "-" else host_of(f[4]),
        target_time=None if target_time < 0 else target_time,
        elb_status=int(f[8]),
        target_status=_number(f[9]),
        sent=int(f[11]),
        method=request[0],
        url=request[1] if len(request) > 1 else "",
        user_agent=None if agent == "-" else agent,
        actions=[] if unquote(f[22]) == "-" else unquote(f[22]).split(","),
        error_reason=None if unquote(f[24]) == "-" else unquote(f[24]),
    )


NLB_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$")
TLS_VERSION = re.compile(r"^tlsv(\d)(\d)$")


def _nlb(line: str) -> NlbRecord | None:
    f = line.split(" ")
    if len(f) < 18 or f[0] != "tls" or not NLB_TIME.match(f[2]) or ":" not in f[5]:
        return None
    version = TLS_VERSION.match(f[15])
    return NlbRecord(
        client=host_of(f[5]), listener=f[4], port=int(f[6].rsplit(":", 1)[1]),
        handshake_ms=None if f[8] == "-" else float(f[8]), alert=_number(f[11]),
        version=None if version is None else ".".join(version.groups()), cipher=None if f[14] == "-" else f[14],
        received=int(f[9]), sent=int(f[10]),
    )


def _clb(line: str) -> ClbRecord | None:
    f = TOKEN.findall(line)
    if len(f) < 12 or not ALB_TIME.match(f[0]) or ":" not in f[2]:
        return None
    backend_time = float(f[5])
    method = unquote(f[11]).split(" ")[0]
    return ClbRecord(
        client=host_of(f[2]), backend=None if f[3] == "-" else host_of(f[3]),
        backend_time=None if backend_time < 0 else backend_time, elb_status=_number(f[7]),
        backend_status=_number(f[8]), method=None if method == "-" else method,
    )


CLOUDFRONT_LEGACY = ("date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) "
                     "cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header "
                     "cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher "
                     "x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port "
                     "time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start "
                     "sc-range-end").split()


def _cloudfront(line: str, columns: list[str]) -> CloudFrontRecord | None:
    """A W3C line by its columns, or a JSON line by its keys; None for what is no record."""
    if line.startswith("{"):
        fields = json.loads(line)
    else:
        values = line.split("\t")
        if len(values) < len(columns):
            return None
        fields = dict(zip(columns, values))
    if not ({"date", "time"} <= fields.keys() or "timestamp(ms)" in fields or "timestamp" in fields):
        return None

    def text(name: str) -> str | None:
        value = fields.get(name, "-")
        return None if value == "-" else urllib.parse.unquote(value)

    return CloudFrontRecord(client=ip(fields["c-ip"]), status=int(fields["sc-status"]),
                            result=fields["x-edge-result-type"], bytes_sent=int(fields["sc-bytes"]),
                            time_taken=float(fields["time-taken"]), uri=fields["cs-uri-stem"],
                            referrer=text("cs(Referer)"), user_agent=text("cs(User-Agent)"))


REQUEST_ID = re.compile(r"^[0-9A-F]{16}$")


def _s3(line: str) -> S3Record | None:
    f = TOKEN.findall(line)
    if len(f) < 18 or not S3_TIME.match(f[2]):
        return None
    # A CloudFront origin access identity requester has spaces; the request id after it does not.
    end = next((i for i in range(5, len(f)) if REQUEST_ID.match(f[i])), 5)
    f[4:end] = [" ".join(f[4:end])]
    return S3Record(
        time=datetime.strptime(f[2], "[%d/%b/%Y:%H:%M:%S %z]"),
        client=ip(f[3]),
        requester=None if f[4] == "-" else f[4],
        operation=f[6],
        key=None if f[7] == "-" else f[7],
        status=int(f[9]),
        error_code=None if f[10] == "-" else f[10],
        bytes_sent=_number(f[11]) or 0,
        total_time=_number(f[13]),
        bucket=f[1],
    )


CONNECTION = re.compile(r'^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z) (\S+) (\d+) (\d+) (\S+) (\S+) (\S+) ("[^"]*"|-) (\S+) (\S+) (\S+) TID_')
VALIDITY = re.compile(r"^NotBefore=\S+;NotAfter=(\S+)$")


def _connection(line: str) -> ConnectionRecord | None:
    m = CONNECTION.match(line)
    if m is None:
        return None
    _, client, _, listener, _, _, latency, subject, validity, _, verify = m.groups()
    subject = unquote(subject)
    not_after = VALIDITY.match(validity)
    return ConnectionRecord(ip(client), int(listener), None if latency == "-" else float(latency),
                            None if subject == "-" else subject, not_after and not_after.group(1),
                            None if verify == "-" else verify)


def _health_check(line: str) -> HealthCheckRecord | None:
    f = line.split(" ")
    if len(f) < 8 or not ALB_TIME.match(f[1]) or f[5] not in ("PASS", "FAIL"):
        return None
    return HealthCheckRecord(datetime.fromisoformat(f[1].replace("Z", "+00:00")), f[3], f[4], f[5],
                             _number(f[6]), None if f[7] == "-" else f[7], None if f[2] == "-" else float(f[2]))
