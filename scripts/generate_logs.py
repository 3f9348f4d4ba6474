#!/usr/bin/env python3
"""Generate realistic ALB access logs and S3 server access logs, named the way AWS names them.

    python scripts/generate_logs.py --out DIR [--alb-lines N] [--s3-lines N] [--nlb-lines N] [--clb-lines N]
                                    [--cloudfront-lines N]
                                    [--lines-per-file N] [--seed S]
                                    [--start now|now-6h|2026-11-25T12:00:00Z] [--unparsable-lines N]
                                    [--alb-connection-lines N] [--alb-health-check-lines N]

writes DIR/alb/AWSLogs/<account>/elasticloadbalancing/<region>/yyyy/mm/dd/…log.gz (gzip) and
DIR/s3-access/logs/YYYY-mm-DD-HH-MM-SS-<unique> (plain text, as S3 delivers them), and with
--nlb-lines / --clb-lines DIR/nlb/… (gzip) and DIR/clb/… (plain text) under the same AWSLogs tree
(NLB: TLS listeners, handshake failures with their alerts, a TLS 1.3/1.2/1.0 mix, ALPN; Classic:
HTTP, HTTPS, TCP and SSL listeners, no-backend 5xx with -1 timings), and with their flags ALB
connection and health-check logs under DIR/alb-connection/ and DIR/alb-health-check/
(conn_log_… and health_check_log_… objects, gzip), and with --cloudfront-lines
DIR/cloudfront/…/<distribution>.YYYY-MM-DD-HH.<unique>.gz (CloudFront standard logs: legacy W3C, and
standard logging v2 as W3C with its own fields and as JSON). The variety is
what real traffic shows: status mixes, IPv6 clients, Lambda targets, WAF blocks, redirects and
fixed responses (no target, -1 timings), TLS and plain listeners, anonymous and IAM requesters,
CloudFront origin access identities (a requester with spaces), denied requests, older and newer
field counts.

The traffic has the shape the Dev Tools cookbook and the dashboards ask about: a few heavy-hitting
clients and many repeat ones (HEAVY_HITTERS, REPEAT_CLIENTS), access denied (403) concentrated on a
few IPs and keys (DENIED_IPS, DENIED_KEYS), a few popular objects, and two slow targets
(SLOW_TARGETS). Each file covers five minutes, as AWS delivers them; by default the last file ends
now, so the dashboards' default "last 24 hours" shows every line (--start sets the first line's time
instead: an ISO 8601 UTC time, `now`, or `now-<N><m|h|d>`). --unparsable-lines adds that many lines
per format that are not access-log records (the generator's own lines always parse).
"""
from __future__ import annotations

import argparse
import gzip
import ipaddress
import json
import random
import re
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from geoip_testdb import NETWORKS as GEO_NETWORKS  # noqa: E402

ACCOUNT = "123456789012"
REGION = "us-east-1"
LB = "app/demo-alb/50dc6c495c0c9188"
TARGET_GROUP = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/demo-targets/73e2d6bc24d8a067"
CERT = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/12345678-1234-1234-1234-123456789012"
USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.70",
    "curl/8.5.0", "python-requests/2.32.3", "okhttp/4.12.0", "ELB-HealthChecker/2.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "-",
]
PATHS = ["/", "/index.html", "/api/v1/orders", "/api/v1/orders/{id}", "/api/v1/users/{id}", "/login",
         "/static/app.{id}.js", "/static/style.css", "/health", "/search", "/wp-login.php", "/.env"]
QUERIES = ["", "", "", "?page={n}", "?q=shoes&sort=price", "?utm_source=newsletter&utm_campaign=nov"]
CIPHERS = [("ECDHE-RSA-AES128-GCM-SHA256", "TLSv1.2"), ("TLS_AES_128_GCM_SHA256", "TLSv1.3"),
           ("ECDHE-RSA-AES256-GCM-SHA384", "TLSv1.2")]
ERROR_REASONS = ["LambdaInvalidResponse", "LambdaUnhandled", "LambdaThrottling", "AuthInvalidCookie"]
# Who the traffic comes from: three heavy hitters (one IPv6) send about a quarter of all requests,
# a pool of repeat clients most of the rest, and one-off addresses the remainder (3%). Public addresses in
# the networks of the GeoIP test databases (scripts/geoip_testdb.py), so that enrichment finds places
# and its caches hit as often as on real logs; the one-offs are half from documentation ranges, which
# no database places.
HEAVY_HITTERS = ["81.2.69.142", "2a01:4f8:c17:b8f::2", "216.160.83.61"]
HEAVY_WEIGHTS = [12, 8, 5]
_pool = random.Random(20261125)
_V4_NETWORKS = [ipaddress.ip_network(n.cidr) for n in GEO_NETWORKS if ":" not in n.cidr]
_V6_NETWORKS = [ipaddress.ip_network(n.cidr) for n in GEO_NETWORKS if ":" in n.cidr]


def _address_in(rng: random.Random, networks: list) -> str:
    network = rng.choice(networks)
    return str(network[rng.randrange(1, min(network.num_addresses - 1, 1 << 32))])


REPEAT_CLIENTS = [_address_in(_pool, _V4_NETWORKS) for _ in range(240)] + \
                 [_address_in(_pool, _V6_NETWORKS) for _ in range(30)]
# S3 access denied: most 403s come from these IPs and are for these keys.
DENIED_IPS = ["185.220.101.33", "175.16.199.20", "2a01:4f8:bad::1"]
DENIED_KEYS = ["secret/credentials.json", "private/payroll-2026.xlsx", "backups/db.sql.gz"]
# ALB targets; the last two answer slowly.
TARGETS = [f"10.0.{subnet}.{host}" for subnet, host in ((1, 11), (1, 12), (2, 21), (2, 22), (3, 31), (3, 32))]
SLOW_TARGETS = TARGETS[-2:]
POPULAR_KEYS = ["index.html", "images/photo+1.jpg", "reports/2026/q3%20summary.pdf", "data/export.csv"]
UNPARSABLE = ["this line is not an access log record", "-", "<html><body>502 Bad Gateway</body></html>",
              "2026-11-25 12:00:00 truncated line http", '"unbalanced quote field 1 2 3']


def _one_off_ip(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return _address_in(rng, _V6_NETWORKS if rng.random() < 0.1 else _V4_NETWORKS)
    if rng.random() < 0.1:
        return f"2001:db8:{rng.randrange(0x10000):x}::{rng.randrange(0x10000):x}"
    return f"{rng.choice([203, 198, 192, 100, 52])}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def _client_ip(rng: random.Random) -> str:
    draw = rng.random()
    if draw < 0.25:
        return rng.choices(HEAVY_HITTERS, HEAVY_WEIGHTS)[0]
    if draw < 0.97:  # one line in about 30 from an address seen once: a page load is tens of requests
        return rng.choice(REPEAT_CLIENTS)
    return _one_off_ip(rng)


def _path(rng: random.Random) -> str:
    path = rng.choice(PATHS).replace("{id}", str(rng.randrange(1, 5000)))
    return path + rng.choice(QUERIES).replace("{n}", str(rng.randrange(1, 40)))


def alb_line(rng: random.Random, when: datetime) -> str:
    kind = rng.choices(["http", "https", "h2", "wss", "grpcs"], [20, 45, 30, 3, 2])[0]
    scheme, port = ("http", 80) if kind == "http" else ("https", 443)
    client = f"{_client_ip(rng)}:{rng.randrange(1024, 65535)}"
    target_ip = rng.choice(TARGETS)
    outcome = rng.choices(["forward", "lambda", "waf", "redirect", "fixed", "error", "noconn"],
                          [80, 5, 4, 4, 2, 4, 1])[0]
    elb_status = rng.choices([200, 201, 204, 301, 304, 400, 401, 404, 500, 503], [60, 3, 3, 2, 8, 3, 3, 12, 3, 3])[0]
    target, target_status, timings = f"{target_ip}:8080", str(elb_status), None
    actions, redirect, error = "forward", "-", "-"
    if outcome == "lambda":
        target, timings = "-", None
        if rng.random() < 0.3:
            elb_status, target_status, error = 502, "-", rng.choice(ERROR_REASONS[:3])
        else:
            target_status = str(elb_status)
    elif outcome == "waf":
        target, target_status, elb_status, actions, timings = "-", "-", 403, "waf", ("-1", "-1", "-1")
    elif outcome == "redirect":
        target, target_status, elb_status, actions, timings = "-", "-", 301, "redirect", ("-1", "-1", "-1")
        redirect = f"https://www.example.com:443{_path(rng)}"
    elif outcome == "fixed":
        target, target_status, elb_status, actions, timings = "-", "-", 404, "fixed-response", ("-1", "-1", "-1")
    elif outcome == "error":
        elb_status = rng.choice([502, 504])
        target_status, timings = "-", (f"{rng.random() / 100:.3f}", "-1", "-1")
    elif outcome == "noconn":
        target, target_status, elb_status, actions, timings = "-", "-", 400, "-", ("-1", "-1", "-1")
    if timings is None:
        slow = target_ip in SLOW_TARGETS and target != "-"
        target_time = 1.5 + rng.expovariate(1.0) if slow else rng.expovariate(8)
        timings = (f"{rng.random() / 500:.3f}", f"{target_time:.3f}", f"{rng.random() / 1000:.3f}")
    method = rng.choices(["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS"], [75, 15, 4, 2, 2, 2])[0]
    version = {"h2": "HTTP/2.0", "grpcs": "HTTP/2.0"}.get(kind, "HTTP/1.1")
    host = "www.example.com"
    request = f"{method} {scheme}://{host}:{port}{_path(rng)} {version}"
    if outcome == "noconn":
        request = f"- {scheme}://{host}:{port}- -"
    cipher, proto = rng.choice(CIPHERS) if scheme == "https" else ("-", "-")
    domain, cert = (f'"{host}"', f'"{CERT}"') if scheme == "https" else ('"-"', '"-"')
    received = rng.randrange(100, 2000) if method in ("POST", "PUT") else rng.randrange(30, 700)
    sent = 0 if elb_status in (204, 304) else rng.randrange(150, 250_000)
    created = (when - timedelta(milliseconds=rng.randrange(1, 3000))).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "000Z"
    trace = f"Root=1-{int(when.timestamp()):08x}-{rng.getrandbits(96):024x}"
    priority = "0" if outcome in ("noconn",) else str(rng.choice([0, 1, 2, 10]))
    fields = [
        kind, when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), LB, client, target, *timings, str(elb_status), target_status,
        str(received), str(sent), f'"{request}"', f'"{rng.choice(USER_AGENTS)}"', cipher, proto,
        TARGET_GROUP if target != "-" or outcome == "lambda" else "-", f'"{trace}"', domain, cert, priority,
        created, f'"{actions}"', f'"{redirect}"', f'"{error}"',
        f'"{target}"' if target != "-" else '"-"', f'"{target_status}"' if target_status != "-" else '"-"',
        *(('"Ambiguous"', '"SpaceInUri"') if rng.random() < 0.02 else ('"-"', '"-"')),
    ]
    era = rng.random()
    if era < 0.05:  # a line from 2020-2024: no conn_trace_id yet
        return " ".join(fields)
    fields.append(f"TID_{rng.getrandbits(128):032x}")
    if era < 0.1:  # 2024-2025: before the transform fields
        return " ".join(fields)
    if rng.random() < 0.03:  # a listener rule rewrote the host and the URL
        fields += ['"api.internal.example.com"', f'"{_path(rng)}"', '"TransformSuccess"']
    else:
        fields += ['"-"', '"-"', '"-"']
    fields.append(f"10.0.{rng.randrange(1, 4)}.{rng.randrange(2, 250)}")
    if era > 0.9:  # placeholders for fields AWS has not released yet, now and then with a value
        fields += ['"-"', '"future-value"' if era > 0.997 else '"-"']
    return " ".join(fields)


def s3_line(rng: random.Random, when: datetime, bucket: str = "amzn-s3-demo-bucket1") -> str:
    owner = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
    requester = rng.choices(
        [f"arn:aws:iam::{ACCOUNT}:user/deployer", f"arn:aws:sts::{ACCOUNT}:assumed-role/app-role/i-0abc123",
         owner, "-", "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E3EXAMPLE12345"],
        [30, 30, 10, 20, 10])[0]
    op, method = rng.choices([("REST.GET.OBJECT", "GET"), ("REST.PUT.OBJECT", "PUT"), ("REST.HEAD.OBJECT", "HEAD"),
                              ("REST.GET.BUCKET", "GET"), ("REST.DELETE.OBJECT", "DELETE"),
                              ("REST.COPY.OBJECT_GET", "PUT"), ("WEBSITE.GET.OBJECT", "GET")],
                             [50, 15, 10, 10, 5, 3, 7])[0]
    key = rng.choices([*POPULAR_KEYS, f"uploads/{rng.randrange(10**6)}.bin", rng.choice(DENIED_KEYS)],
                      [30, 20, 10, 8, 30, 2])[0]
    status, error = rng.choices([(200, "-"), (206, "-"), (304, "-"), (403, "AccessDenied"), (404, "NoSuchKey"),
                                 (503, "SlowDown")], [70, 3, 5, 10, 10, 2])[0]
    client = _client_ip(rng)
    if status == 403 and rng.random() < 0.8:  # denials come mostly from a few places, for a few keys
        client, key = rng.choice(DENIED_IPS), rng.choice(DENIED_KEYS)
    size = rng.randrange(100, 50_000_000)
    sent = "-" if method in ("HEAD", "PUT", "DELETE") or status in (304, 403, 404) else str(min(size, rng.randrange(100, 10**7)))
    uri_key = "-" if op == "REST.GET.BUCKET" else key
    uri = f"/{bucket}" + ("?list-type=2&prefix=data%2F" if op == "REST.GET.BUCKET" else f"/{key}")
    total = rng.randrange(1, 2000)
    offset = "+0000"
    tls = rng.choice(["TLSv1.2", "TLSv1.3", "-"])
    fields = [
        owner, bucket, f"[{when.strftime('%d/%b/%Y:%H:%M:%S')} {offset}]", client, requester,
        f"{rng.getrandbits(64):016X}", op, uri_key, f'"{method} {uri} HTTP/1.1"', str(status), error, sent,
        str(size) if op.endswith("OBJECT") else "-", str(total), str(rng.randrange(1, total + 1)) if status < 400 else "-",
        rng.choice(['"-"', '"https://www.example.com/"', "-"]), f'"{rng.choice(USER_AGENTS[:6] + ["aws-cli/2.17.0 Python/3.11"])}"',
        "-", f"{rng.getrandbits(256):064x}=", "SigV4" if requester != "-" else "-",
        "ECDHE-RSA-AES128-GCM-SHA256" if tls != "-" else "-", "AuthHeader" if requester != "-" else "-",
        f"{bucket}.s3.{REGION}.amazonaws.com", tls,
        f"arn:aws:s3:{REGION}:{ACCOUNT}:accesspoint/demo-ap" if rng.random() < 0.05 else "-",
        rng.choice(["-", "Yes"]),
    ]
    if method in ("PUT", "DELETE") and rng.random() < 0.5:  # a versioned bucket
        fields[17] = f"3HL4kqtJvjVBH40Nrjfkd{rng.getrandbits(40):010x}"
    if rng.random() < 0.8:  # newer records end with a region
        fields.append(REGION)
        if rng.random() < 0.003:  # and one day with a field AWS has not documented yet
            fields.append("future-value")
    return " ".join(fields)


NLB = "net/demo-nlb/c6e77e28c25b2234"
# (listener id, port): the NLB's TLS listeners; the third speaks AMQPS to a broker.
NLB_LISTENERS = [("g3d4b5e8bb8464cd", 443), ("a1b2c3d4e5f60718", 8443), ("f00dfeed12345678", 5671)]
NLB_NODES = ["172.31.10.25", "172.31.20.47"]  # the load balancer's node per zone: the destination
NLB_CIPHERS = [("TLS_AES_128_GCM_SHA256", "tlsv13"), ("TLS_AES_256_GCM_SHA384", "tlsv13"),
               ("ECDHE-RSA-AES128-GCM-SHA256", "tlsv12"), ("ECDHE-RSA-AES256-GCM-SHA384", "tlsv12"),
               ("ECDHE-RSA-AES128-SHA", "tlsv10")]
# TLS alerts clients send when they give up on the handshake: bad_certificate (42),
# certificate_unknown (46), unknown_ca (48), protocol_version (70), handshake_failure (40).
NLB_ALERTS = [42, 46, 48, 70, 40]
CLB = "demo-classic"


def nlb_line(rng: random.Random, when: datetime) -> str:
    """One TLS connection through the NLB, ending at `when`; about 6% fail their handshake."""
    listener, port = rng.choices(NLB_LISTENERS, [70, 20, 10])[0]
    client = f"{_client_ip(rng)}:{rng.randrange(1024, 65535)}"
    failed = rng.random() < 0.06
    handshake = rng.randrange(1, 40) + (rng.randrange(100, 900) if rng.random() < 0.03 else 0)
    connection = handshake + int(rng.expovariate(1 / 4000))
    cipher, proto = rng.choices(NLB_CIPHERS, [45, 10, 30, 10, 5])[0]
    sni = rng.choice(["api.example.com", "mq.example.com", "www.example.com", "-"])
    alert, received, sent = "-", rng.randrange(200, 500_000), rng.randrange(500, 2_000_000)
    if failed:
        connection = handshake
        handshake, cipher, proto = "-", "-", "-"
        alert, received, sent = str(rng.choice(NLB_ALERTS)), rng.randrange(100, 600), rng.randrange(0, 3000)
    alpn = rng.choice([("-", "-", "-"), ("h2", "h2", '"h2","http/1.1"'), ("http/1.1", "http/1.1", '"http/1.1"')])
    if failed or port == 5671:
        alpn = ("-", "-", "-")
    created = when - timedelta(milliseconds=connection)
    fields = ["tls", "2.0", when.strftime("%Y-%m-%dT%H:%M:%S"), NLB, listener, client,
              f"{rng.choice(NLB_NODES)}:{port}", str(connection), str(handshake), str(received), str(sent), alert,
              CERT if not failed or rng.random() < 0.5 else "-", "-", cipher, proto, "-", sni, *alpn]
    if rng.random() < 0.9:  # newer lines end with tls_connection_creation_time
        fields.append(created.strftime("%Y-%m-%dT%H:%M:%S"))
    return " ".join(fields)


def clb_line(rng: random.Random, when: datetime) -> str:
    """One request (HTTP and HTTPS listeners) or connection (TCP and SSL) through the Classic load balancer."""
    listener = rng.choices(["http", "https", "tcp", "ssl"], [35, 50, 10, 5])[0]
    client = f"{_client_ip(rng)}:{rng.randrange(1024, 65535)}"
    backend_ip = rng.choice(TARGETS)
    backend = f"{backend_ip}:{8080 if listener in ('http', 'https') else 5432}"
    slow = backend_ip in SLOW_TARGETS
    timings = [f"{rng.random() / 5000:.6f}", f"{(1.5 + rng.expovariate(1.0)) if slow else rng.expovariate(10):.6f}",
               f"{rng.random() / 10000:.6f}"]
    cipher, proto = rng.choice(CIPHERS) if listener in ("https", "ssl") else ("-", "-")
    if listener in ("tcp", "ssl"):
        return " ".join([when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), CLB, client, backend, *timings, "-", "-",
                         str(rng.randrange(50, 5000)), str(rng.randrange(50, 50_000)), '"- - - "', '"-"', cipher, proto])
    status = rng.choices([200, 201, 301, 304, 400, 404, 500, 502, 503, 504], [62, 3, 3, 8, 3, 12, 3, 2, 2, 2])[0]
    backend_status = str(status)
    if status in (502, 503, 504) and rng.random() < 0.6:  # no healthy backend, or it closed early
        backend, backend_status, timings = "-", "-", ["-1", "-1", "-1"]
    scheme, port = ("https", 443) if listener == "https" else ("http", 80)
    method = rng.choices(["GET", "POST", "PUT", "DELETE", "HEAD"], [78, 15, 4, 2, 1])[0]
    request = f"{method} {scheme}://shop.example.com:{port}{_path(rng)} HTTP/1.1"
    return " ".join([when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), CLB, client, backend, *timings, str(status),
                     backend_status, str(rng.randrange(0, 2000) if method in ("POST", "PUT") else 0),
                     str(0 if status == 304 else rng.randrange(150, 250_000)), f'"{request}"',
                     f'"{rng.choice(USER_AGENTS)}"', cipher, proto])


FILE_MINUTES = 5  # AWS delivers ALB and S3 access logs in files of about five minutes


def _file_slots(lines: int, per_file: int, rng: random.Random, start: datetime, unparsable: int = 0):
    """(end of the file's five minutes, its slots) per file: a slot is a record's time, or an unparsable
    line (a str); `unparsable` bad lines at random places. Each file's slots must be used up in order
    before the next file (the random draws interleave with the caller's)."""
    total = lines + unparsable
    bad = set(rng.sample(range(total), unparsable)) if unparsable else set()
    written, when = 0, start
    while written < total:
        count = min(per_file, total - written)
        end = when + timedelta(minutes=FILE_MINUTES)
        yield end, _slots(rng, written, count, when, bad)
        written += count
        when = end


def _slots(rng: random.Random, written: int, count: int, when: datetime, bad: set[int]):
    for i in range(count):
        yield rng.choice(UNPARSABLE) if written + i in bad else when + timedelta(seconds=60 * FILE_MINUTES * i / count)


def _files(make, lines: int, per_file: int, rng: random.Random, start: datetime, unparsable: int = 0):
    """(end of the file's five minutes, body) per file; `unparsable` bad lines mixed in at random places."""
    for end, slots in _file_slots(lines, per_file, rng, start, unparsable):
        yield end, "\n".join(slot if isinstance(slot, str) else make(rng, slot) for slot in slots) + "\n"


def write_alb(out: Path, lines: int, per_file: int, rng: random.Random, start: datetime,
              unparsable: int = 0) -> list[Path]:
    return _write_elb(out / "alb", alb_line, lines, per_file, rng, start, unparsable, _alb_name(rng, node="10.0.1.23"))


def write_s3(out: Path, lines: int, per_file: int, rng: random.Random, start: datetime,
             unparsable: int = 0) -> list[Path]:
    files = []
    folder = out / "s3-access" / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    for end, body in _files(s3_line, lines, per_file, rng, start, unparsable):
        path = folder / f"{end.strftime('%Y-%m-%d-%H-%M-%S')}-{rng.getrandbits(64):016X}"
        path.write_bytes(body.encode())
        files.append(path)
    return files


# ALB connection logs: most connections come to the HTTPS listener, some to plain HTTP (every TLS field
# `-`), and mutual-TLS clients to 8443 with their certificates, a few of which fail verification.
CLIENT_CERTS = [  # (subject, serial number, NotBefore, NotAfter)
    ("CN=payments-client.example.com,O=Example Corp,L=Seattle,ST=Washington,C=US", "FEF257372D5C14D4",
     "2025-09-21T22:43:21Z", "2027-06-17T22:43:21Z"),
    ("CN=Partner Gateway 01,OU=Integrations Team,O=Partner Ltd,C=GB", "0A1B2C3D4E5F6071",
     "2026-01-10T00:00:00Z", "2027-01-10T00:00:00Z"),
    ("CN=iot-device-4711,O=Example Devices,C=DE", "7C9E11A2B3C4D5E6", "2024-03-01T12:00:00Z", "2026-12-31T23:59:59Z"),
    ("CN=legacy-batch.example.net,O=Example Corp,C=US", "00D3ADB33FC0FFEE", "2021-05-05T00:00:00Z", "2023-05-05T00:00:00Z"),
]
CERT_FAILURES = ["Failed:ClientCertUntrusted", "Failed:ClientCertExpired", "Failed:ClientCertNotYetValid",
                 "Failed:ClientCertRevoked"]
KEY_EXCHANGES = ["X25519", "X25519", "secp256r1", "X25519MLKEM768"]
NODE_IPS = ["10.0.1.23", "10.0.2.41", "10.0.3.77"]


def alb_connection_line(rng: random.Random, when: datetime) -> str:
    listener = rng.choices([443, 80, 8443], [70, 15, 15])[0]
    fields = [when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), _client_ip(rng), str(rng.randrange(1024, 65535)), str(listener)]
    if listener == 80:
        fields += ["-"] * 7
    else:
        cipher, proto = rng.choice(CIPHERS)
        latency = f"{rng.expovariate(40):.3f}" if rng.random() < 0.97 else "-"  # "-": the handshake failed
        subject, validity, serial, verify = '"-"', "-", "-", "Success" if latency != "-" else "Failed:UnmappedConnectionError"
        if listener == 8443:
            cert = CLIENT_CERTS[-1] if rng.random() < 0.1 else rng.choice(CLIENT_CERTS[:-1])
            subject, serial = f'"{cert[0]}"', cert[1]
            validity = f"NotBefore={cert[2]};NotAfter={cert[3]}"
            if cert is CLIENT_CERTS[-1]:
                verify, latency = "Failed:ClientCertExpired", "-"
            elif rng.random() < 0.08:
                verify, latency = rng.choice(CERT_FAILURES), "-"
        fields += [proto, cipher, latency, subject, validity, serial, verify]
    fields.append(f"TID_{rng.getrandbits(128):032x}")
    if rng.random() < 0.2:  # a line from before tls_keyexchange, elb and ip_address
        return " ".join(fields)
    fields += [rng.choice(KEY_EXCHANGES) if listener != 80 else "-", LB, rng.choice(NODE_IPS)]
    return " ".join(fields + _future_fields(rng))


# ALB health checks: every target is checked by every node; FAILING_TARGET fails most of its checks,
# the others now and then; a Lambda target is checked by invoking it.
FAILING_TARGET = TARGETS[2]
HEALTH_FAILURES = [("TimedOut", "-"), ("ConnectionReset", "-"), ("ResponseCodeMismatch", "503"),
                   ("ResponseCodeMismatch", "404"), ("TargetError", "502")]
LAMBDA_TARGET = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:demo-handler"


def alb_health_check_line(rng: random.Random, when: datetime) -> str:
    if rng.random() < 0.1:
        kind, target, group = "lambda", LAMBDA_TARGET, "demo-lambda-targets"
    else:
        kind, group = rng.choices(["http", "https", "h2"], [70, 20, 10])[0], "demo-targets"
        address = rng.choice(TARGETS + ["2001:db8:10::31"])
        target = f"[{address}]:8080" if ":" in address else f"{address}:8080"
    failing = target.startswith(FAILING_TARGET + ":") and rng.random() < 0.7
    if failing or rng.random() < 0.02:
        reason, code = rng.choice(HEALTH_FAILURES)
        status = "FAIL"
        latency = f"{5 + rng.random() / 100:.9f}" if reason == "TimedOut" else f"{rng.expovariate(20):.9f}"
    else:
        status, code, reason = "PASS", "200", "-"
        slow = any(target.startswith(t + ":") for t in SLOW_TARGETS)
        latency = f"{(0.4 if slow else 0) + rng.expovariate(60):.9f}"
    fields = [kind, when.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), latency, target, group, status, code, reason]
    if rng.random() < 0.8:  # newer lines name the load balancer and its node
        fields += [LB, rng.choice(NODE_IPS)] + _future_fields(rng)
    return " ".join(fields)


def _future_fields(rng: random.Random) -> list[str]:
    """Now and then the `-` placeholders AWS writes before it releases new fields, rarely with a value."""
    draw = rng.random()
    return ["-", "future-value" if draw < 0.01 else "-"] if draw < 0.05 else []


def write_nlb(out: Path, lines: int, per_file: int, rng: random.Random, start: datetime,
              unparsable: int = 0) -> list[Path]:
    """Gzip files named as AWS names NLB logs: `net.` and no node IP."""
    return _write_elb(out / "nlb", nlb_line, lines, per_file, rng, start, unparsable,
                      lambda end: f"net.demo-nlb.c6e77e28c25b2234_{end.strftime('%Y%m%dT%H%MZ')}_"
                                  f"{rng.getrandbits(32):08x}.log.gz")


def write_clb(out: Path, lines: int, per_file: int, rng: random.Random, start: datetime,
              unparsable: int = 0) -> list[Path]:
    """Plain-text files named as AWS names Classic load balancer logs: the name, then the node IP."""
    return _write_elb(out / "clb", clb_line, lines, per_file, rng, start, unparsable,
                      lambda end: f"{CLB}_{end.strftime('%Y%m%dT%H%MZ')}_10.0.1.77_{rng.getrandbits(32):08x}.log")


def _write_elb(root: Path, make, lines: int, per_file: int, rng: random.Random, start: datetime,
               unparsable: int, name, prefix: str = "") -> list[Path]:
    """Objects under root/AWSLogs/<account>/elasticloadbalancing/<region>/yyyy/mm/dd/, named
    `<prefix><account>_elasticloadbalancing_<region>_<name(end)>`: gzip when that ends in .gz."""
    files = []
    for end, body in _files(make, lines, per_file, rng, start, unparsable):
        folder = root / "AWSLogs" / ACCOUNT / "elasticloadbalancing" / REGION / end.strftime("%Y/%m/%d")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{prefix}{ACCOUNT}_elasticloadbalancing_{REGION}_{name(end)}"
        path.write_bytes(gzip.compress(body.encode(), 6, mtime=0) if path.suffix == ".gz" else body.encode())
        files.append(path)
    return files


# CloudFront standard logs (legacy, and standard logging v2 as W3C and JSON): hourly objects named
# <distribution ID>.YYYY-MM-DD-HH.<unique>.gz, W3C files opening with the #Version and #Fields headers.
DISTRIBUTION = "E2QWRUHAPOMQZL"
CF_DOMAIN = "d111111abcdef8.cloudfront.net"
CF_HOSTS = [CF_DOMAIN, "www.example.com", "static.example.com"]
EDGES = ["IAD89-C1", "FRA56-P3", "NRT57-C2", "LHR61-P1", "SEA19-C1", "GRU3-C1"]
EDGE_RESULTS = [("Hit", 60), ("Miss", 22), ("RefreshHit", 4), ("OriginShieldHit", 2), ("Error", 7), ("Redirect", 3),
                ("LimitExceeded", 1), ("FunctionGeneratedResponse", 1)]
CF_PATHS = ["/", "/index.html", "/static/app.js", "/static/app.css", "/images/hero.jpg", "/api/v1/cart",
            "/videos/intro.mp4", "/favicon.ico", "/search", "/docs/getting%20started.html"]
CF_QUERIES = ["-", "-", "-", "q=shoes%20red&page=2", "utm_source=newsletter&utm_campaign=nov", "v=3"]
REFERERS = ["-", "-", "https://www.example.com/", "https://www.google.com/", "https://news.example.org/a%20story"]
ERROR_DETAILS = ["OriginDnsError", "OriginConnectError", "ClientCommError", "InvalidRequest", "OriginReadError"]
CONTENT_TYPES = {"js": "application/javascript", "css": "text/css", "jpg": "image/jpeg", "mp4": "video/mp4",
                 "ico": "image/x-icon", "/api/v1/cart": "application/json"}
COUNTRIES = ["US", "DE", "JP", "GB", "BR", "IN"]
V2_FIELDS = ("timestamp(ms) c-ip c-port cs-method x-host-header cs-uri-stem cs-uri-query sc-status sc-bytes "
             "time-taken x-edge-location x-edge-result-type x-edge-detailed-result-type cs(User-Agent) cs(Referer) "
             "origin-fbl origin-lbl asn c-country cache-behavior-path-pattern x-edge-request-id "
             "distribution-tenant-id").split()
V2_JSON_FIELDS = ["timestamp", *V2_FIELDS[1:], "ssl-protocol", "ssl-cipher", "cs-protocol-version"]


def cloudfront_record(rng: random.Random, when: datetime) -> dict[str, str]:
    """One request, by the field names of the CloudFront standard log (legacy and v2)."""
    result = rng.choices([r for r, _ in EDGE_RESULTS], [w for _, w in EDGE_RESULTS])[0]
    path = rng.choice(CF_PATHS)
    scheme = "https" if rng.random() < 0.85 else "http"
    if result == "Redirect":
        status, scheme = "301", "http"
    elif result == "Error":
        status = rng.choice(["502", "503", "504", "403", "404", "000"])
    elif result == "LimitExceeded":
        status = "503"
    elif result == "FunctionGeneratedResponse":
        status = "204"
    else:
        status = rng.choices(["200", "206", "304"], [90, 5, 5])[0] if path != "/videos/intro.mp4" else "206"
    cached = result in ("Hit", "RefreshHit", "OriginShieldHit")
    taken = rng.uniform(0.001, 0.03) if cached else rng.uniform(0.05, 0.9) * (3 if path == "/api/v1/cart" else 1)
    first_byte = taken * rng.uniform(0.3, 0.95)
    length = rng.randrange(200, 250_000) if status in ("200", "206") else rng.randrange(0, 900)
    cipher, tls = rng.choice(CIPHERS) if scheme == "https" else ("-", "-")
    ranged = status == "206"
    start = rng.randrange(0, 1_000_000) if ranged else None
    fle = rng.random() < 0.02
    return {
        "date": when.strftime("%Y-%m-%d"), "time": when.strftime("%H:%M:%S"),
        "timestamp(ms)": str(int(when.timestamp() * 1000) + rng.randrange(1000)),
        "timestamp": f"{when.timestamp():.3f}",
        "x-edge-location": rng.choice(EDGES), "sc-bytes": str(length + rng.randrange(250, 600)),
        "c-ip": _client_ip(rng), "cs-method": rng.choices(["GET", "HEAD", "POST", "OPTIONS"], [88, 5, 5, 2])[0],
        "cs(Host)": CF_DOMAIN, "cs-uri-stem": path, "sc-status": status,
        "cs(Referer)": rng.choice(REFERERS), "cs(User-Agent)": rng.choice(USER_AGENTS).replace(" ", "%20"),
        "cs-uri-query": rng.choice(CF_QUERIES), "cs(Cookie)": f"session={rng.getrandbits(32):08x}" if rng.random() < 0.1 else "-",
        "x-edge-result-type": result,
        "x-edge-request-id": "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
                                     for _ in range(54)) + "==",
        "x-host-header": rng.choice(CF_HOSTS), "cs-protocol": scheme, "cs-bytes": str(rng.randrange(80, 1500)),
        "time-taken": f"{taken:.3f}", "x-forwarded-for": _one_off_ip(rng) if rng.random() < 0.05 else "-",
        "ssl-protocol": tls, "ssl-cipher": cipher,
        "x-edge-response-result-type": "Error" if result == "Error" else result,
        "cs-protocol-version": rng.choices(["HTTP/2.0", "HTTP/1.1", "HTTP/3.0"], [60, 35, 5])[0],
        "fle-status": "Processed" if fle else "-", "fle-encrypted-fields": str(rng.randrange(1, 4)) if fle else "-",
        "c-port": str(rng.randrange(1024, 65536)), "time-to-first-byte": f"{first_byte:.3f}",
        "x-edge-detailed-result-type": rng.choice(ERROR_DETAILS) if result == "Error" else result,
        "sc-content-type": CONTENT_TYPES.get(path.rsplit(".", 1)[-1], "text/html") if status != "204" else "-",
        "sc-content-len": str(length), "sc-range-start": str(start) if ranged else "-",
        "sc-range-end": str(start + length - 1) if ranged else "-",
        "origin-fbl": "-" if cached else f"{taken * 0.7:.3f}", "origin-lbl": "-" if cached else f"{taken * 0.9:.3f}",
        "asn": str(rng.choice([16509, 7922, 3320, 2516, 8075])), "c-country": rng.choice(COUNTRIES),
        "cache-behavior-path-pattern": "/api/*" if path.startswith("/api/") else "Default (*)",
        "distribution-tenant-id": "dt_2abc" if rng.random() < 0.1 else "-",  # a field AWS added after v2 came out
    }


CF_LEGACY_FIELDS = ("date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) "
                    "cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header "
                    "cs-protocol cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher "
                    "x-edge-response-result-type cs-protocol-version fle-status fle-encrypted-fields c-port "
                    "time-to-first-byte x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start "
                    "sc-range-end").split()


def write_cloudfront(out: Path, lines: int, per_file: int, rng: random.Random, start: datetime,
                     unparsable: int = 0) -> list[Path]:
    """Legacy W3C files under cloudfront/legacy/, and every third file as standard logging (v2) under
    cloudfront/v2/AWSLogs/<account>/CloudFront/: W3C with its own choice of fields, or JSON."""
    files = []
    layouts = ["legacy", "legacy", "v2-w3c", "legacy", "legacy", "v2-json"]
    for n, (end, slots) in enumerate(_file_slots(lines, per_file, rng, start, unparsable)):
        layout = layouts[n % len(layouts)]
        made = []
        for slot in slots:
            if isinstance(slot, str):
                made.append(slot)  # an unparsable line
                continue
            record = cloudfront_record(rng, slot)
            if layout == "v2-json":  # JSON leaves out what is absent; this choice dates by epoch seconds
                made.append(json.dumps({k: record[k] for k in V2_JSON_FIELDS if record[k] != "-"}, separators=(",", ":")))
            else:
                made.append("\t".join(record[k] for k in (V2_FIELDS if layout == "v2-w3c" else CF_LEGACY_FIELDS)))
        when = end - timedelta(minutes=FILE_MINUTES)
        if layout != "v2-json":
            fields = V2_FIELDS if layout == "v2-w3c" else CF_LEGACY_FIELDS
            made[:0] = ["#Version: 1.0", "#Fields: " + " ".join(fields)]
        folder = out / "cloudfront" / ("legacy/cf-logs" if layout == "legacy" else f"v2/AWSLogs/{ACCOUNT}/CloudFront")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{DISTRIBUTION}.{when.strftime('%Y-%m-%d-%H')}.{rng.getrandbits(40):010x}.gz"
        path.write_bytes(gzip.compress(("\n".join(made) + "\n").encode(), 6, mtime=0))
        files.append(path)
    return files


def _alb_name(rng: random.Random, node: str | None = None):
    """The name of an ALB's access, connection or health-check log object after its prefix; `node`:
    the load balancer node (default: one of NODE_IPS per object)."""
    return lambda end: (f"app.demo-alb.50dc6c495c0c9188_{end.strftime('%Y%m%dT%H%MZ')}_"
                        f"{node or rng.choice(NODE_IPS)}_{rng.getrandbits(32):08x}.log.gz")


def write_alb_connection(out: Path, lines: int, per_file: int, rng: random.Random, start: datetime,
                         unparsable: int = 0) -> list[Path]:
    return _write_elb(out / "alb-connection", alb_connection_line, lines, per_file, rng, start, unparsable,
                      _alb_name(rng), prefix="conn_log_")


def write_alb_health_check(out: Path, lines: int, per_file: int, rng: random.Random, start: datetime,
                           unparsable: int = 0) -> list[Path]:
    return _write_elb(out / "alb-health-check", alb_health_check_line, lines, per_file, rng, start, unparsable,
                      _alb_name(rng), prefix="health_check_log_")


class UsageError(Exception):
    """A bad argument: reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage block
        raise UsageError(message)


RELATIVE = re.compile(r"^now(?:-(\d+)([mhd]))?$")


def parse_start(text: str, now: datetime) -> datetime:
    """`now`, `now-<N>m|h|d`, or an ISO 8601 time (UTC unless it carries an offset)."""
    match = RELATIVE.match(text.strip())
    if match:
        amount, unit = match.groups()
        if amount is None:
            return now
        unit_name = {"m": "minutes", "h": "hours", "d": "days"}[unit]
        return now - timedelta(**{unit_name: int(amount)})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"--start {text!r} is not a time: use now, now-<N>m|h|d, or an ISO 8601 time "
                         "such as 2026-11-25T12:00:00Z") from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _count(name: str, minimum: int):
    def convert(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is too small: {name} must be at least {minimum}")
        return value
    return convert


def main(argv: list[str] | None = None, *, now: datetime | None = None) -> int:
    parser = _Parser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--alb-lines", type=_count("--alb-lines", 0), default=10_000)
    parser.add_argument("--s3-lines", type=_count("--s3-lines", 0), default=10_000)
    parser.add_argument("--nlb-lines", type=_count("--nlb-lines", 0), default=0)
    parser.add_argument("--clb-lines", type=_count("--clb-lines", 0), default=0)
    parser.add_argument("--cloudfront-lines", type=_count("--cloudfront-lines", 0), default=0,
                        help="CloudFront standard log records (default 0): legacy W3C, v2 W3C and v2 JSON files")
    parser.add_argument("--lines-per-file", type=_count("--lines-per-file", 1), default=5_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", help="time of the first line: now, now-<N>m|h|d, or ISO 8601 UTC "
                                        "(default: so that the last file ends now)")
    parser.add_argument("--unparsable-lines", type=_count("--unparsable-lines", 0), default=0,
                        help="lines per format that are not access-log records (default 0)")
    parser.add_argument("--alb-connection-lines", type=_count("--alb-connection-lines", 0), default=0,
                        help="ALB connection log lines (default 0)")
    parser.add_argument("--alb-health-check-lines", type=_count("--alb-health-check-lines", 0), default=0,
                        help="ALB health-check log lines (default 0)")
    try:
        args = parser.parse_args(argv)
        now = (now or datetime.now(timezone.utc)).replace(second=0, microsecond=0)
        if args.start is None:
            lines = max(args.alb_lines, args.s3_lines, args.nlb_lines, args.clb_lines, args.alb_connection_lines,
                        args.alb_health_check_lines, args.cloudfront_lines) + args.unparsable_lines
            files = -(-lines // args.lines_per_file)
            start = now - timedelta(minutes=FILE_MINUTES * files)
        else:
            start = parse_start(args.start, now)
        if args.out.exists() and not args.out.is_dir():
            raise UsageError(f"--out {str(args.out)!r} exists and is not a folder")
    except UsageError as exc:
        print(f"generate_logs.py: error: {exc}", file=sys.stderr)
        return 2
    rng = random.Random(args.seed)
    try:
        alb = write_alb(args.out, args.alb_lines, args.lines_per_file, rng, start,
                        args.unparsable_lines if args.alb_lines else 0)
        s3 = write_s3(args.out, args.s3_lines, args.lines_per_file, rng, start,
                      args.unparsable_lines if args.s3_lines else 0)
        more = {what: write(args.out, lines, args.lines_per_file, rng, start, args.unparsable_lines if lines else 0)
                for what, write, lines in (("NLB", write_nlb, args.nlb_lines), ("Classic", write_clb, args.clb_lines))
                if lines}
        if args.cloudfront_lines:  # the shared random stream, after NLB and Classic
            more["CloudFront"] = write_cloudfront(args.out, args.cloudfront_lines, args.lines_per_file, rng, start,
                                                  args.unparsable_lines)
        # Each with its own random stream, so that adding a format changes no other format's lines.
        for what, flag, write in (("ALB connection", "alb_connection", write_alb_connection),
                                  ("ALB health-check", "alb_health_check", write_alb_health_check)):
            count = getattr(args, f"{flag}_lines")
            if count:
                more[what] = write(args.out, count, args.lines_per_file, random.Random(f"{args.seed}-{flag}"), start,
                                   args.unparsable_lines)
    except OSError as exc:
        print(f"generate_logs.py: error: cannot write under {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    bad = f" (+{args.unparsable_lines:,} unparsable lines each)" if args.unparsable_lines else ""
    print(f"wrote {args.alb_lines:,} ALB lines in {len(alb)} files and {args.s3_lines:,} S3 access lines "
          f"in {len(s3)} files" + "".join(f", {len(files)} {what} files" for what, files in more.items())
          + f" under {args.out}{bad}, from {start:%Y-%m-%dT%H:%M}Z")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
