#!/usr/bin/env python3
"""Generate realistic ALB access logs and S3 server access logs, named the way AWS names them.

    python scripts/generate_logs.py --out DIR [--alb-lines N] [--s3-lines N] [--lines-per-file N] [--seed S]

writes DIR/alb/AWSLogs/<account>/elasticloadbalancing/<region>/yyyy/mm/dd/…log.gz (gzip) and
DIR/s3-access/logs/YYYY-mm-DD-HH-MM-SS-<unique> (plain text, as S3 delivers them). The variety is
what real traffic shows: status mixes, IPv6 clients, Lambda targets, WAF blocks, redirects and
fixed responses (no target, -1 timings), TLS and plain listeners, anonymous and IAM requesters,
CloudFront origin access identities (a requester with spaces), denied requests, older and newer
field counts.
"""
from __future__ import annotations

import argparse
import gzip
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path

ACCOUNT = "123456789012"
REGION = "us-east-1"
LB = "app/demo-alb/50dc6c495c0c9188"
TARGET_GROUP = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/demo-targets/73e2d6bc24d8a067"
CERT = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/12345678-1234-1234-1234-123456789012"
USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "curl/8.5.0", "python-requests/2.32.3", "okhttp/4.12.0", "ELB-HealthChecker/2.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "-",
]
PATHS = ["/", "/index.html", "/api/v1/orders", "/api/v1/orders/{id}", "/api/v1/users/{id}", "/login",
         "/static/app.{id}.js", "/static/style.css", "/health", "/search", "/wp-login.php", "/.env"]
QUERIES = ["", "", "", "?page={n}", "?q=shoes&sort=price", "?utm_source=newsletter&utm_campaign=nov"]
CIPHERS = [("ECDHE-RSA-AES128-GCM-SHA256", "TLSv1.2"), ("TLS_AES_128_GCM_SHA256", "TLSv1.3"),
           ("ECDHE-RSA-AES256-GCM-SHA384", "TLSv1.2")]
ERROR_REASONS = ["LambdaInvalidResponse", "LambdaUnhandled", "LambdaThrottling", "AuthInvalidCookie"]


def _client_ip(rng: random.Random) -> str:
    if rng.random() < 0.1:
        return f"2001:db8:{rng.randrange(0x10000):x}::{rng.randrange(0x10000):x}"
    return f"{rng.choice([203, 198, 192, 100, 52])}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def _path(rng: random.Random) -> str:
    path = rng.choice(PATHS).replace("{id}", str(rng.randrange(1, 5000)))
    return path + rng.choice(QUERIES).replace("{n}", str(rng.randrange(1, 40)))


def alb_line(rng: random.Random, when: datetime) -> str:
    kind = rng.choices(["http", "https", "h2", "wss", "grpcs"], [20, 45, 30, 3, 2])[0]
    scheme, port = ("http", 80) if kind == "http" else ("https", 443)
    client = f"{_client_ip(rng)}:{rng.randrange(1024, 65535)}"
    target_ip = f"10.0.{rng.randrange(1, 4)}.{rng.randrange(2, 250)}"
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
        timings = (f"{rng.random() / 500:.3f}", f"{rng.expovariate(8):.3f}", f"{rng.random() / 1000:.3f}")
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
        '"-"', '"-"',
    ]
    era = rng.random()
    if era < 0.05:  # a line from 2020-2024: no conn_trace_id yet
        return " ".join(fields)
    fields.append(f"TID_{rng.getrandbits(128):032x}")
    if era < 0.1:  # 2024-2025: before the transform fields
        return " ".join(fields)
    fields += ['"-"', '"-"', '"-"', f"10.0.{rng.randrange(1, 4)}.{rng.randrange(2, 250)}"]
    if era > 0.9:  # placeholders for fields AWS has not released yet
        fields += ['"-"', '"-"']
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
    key = rng.choice(["index.html", "images/photo+1.jpg", "reports/2026/q3%20summary.pdf", "data/export.csv",
                      f"uploads/{rng.randrange(10**6)}.bin", "secret/credentials.json"])
    status, error = rng.choices([(200, "-"), (206, "-"), (304, "-"), (403, "AccessDenied"), (404, "NoSuchKey"),
                                 (503, "SlowDown")], [70, 3, 5, 10, 10, 2])[0]
    size = rng.randrange(100, 50_000_000)
    sent = "-" if method in ("HEAD", "PUT", "DELETE") or status in (304, 403, 404) else str(min(size, rng.randrange(100, 10**7)))
    uri_key = "-" if op == "REST.GET.BUCKET" else key
    uri = f"/{bucket}" + ("?list-type=2&prefix=data%2F" if op == "REST.GET.BUCKET" else f"/{key}")
    total = rng.randrange(1, 2000)
    offset = "+0000"
    tls = rng.choice(["TLSv1.2", "TLSv1.3", "-"])
    fields = [
        owner, bucket, f"[{when.strftime('%d/%b/%Y:%H:%M:%S')} {offset}]", _client_ip(rng), requester,
        f"{rng.getrandbits(64):016X}", op, uri_key, f'"{method} {uri} HTTP/1.1"', str(status), error, sent,
        str(size) if op.endswith("OBJECT") else "-", str(total), str(rng.randrange(1, total + 1)) if status < 400 else "-",
        rng.choice(['"-"', '"https://www.example.com/"', "-"]), f'"{rng.choice(USER_AGENTS[:6] + ["aws-cli/2.17.0 Python/3.11"])}"',
        "-", f"{rng.getrandbits(256):064x}=", "SigV4" if requester != "-" else "-",
        "ECDHE-RSA-AES128-GCM-SHA256" if tls != "-" else "-", "AuthHeader" if requester != "-" else "-",
        f"{bucket}.s3.{REGION}.amazonaws.com", tls, "-", rng.choice(["-", "Yes"]),
    ]
    if rng.random() < 0.8:  # newer records end with a region
        fields.append(REGION)
    return " ".join(fields)


def write_alb(out: Path, lines: int, per_file: int, rng: random.Random, start: datetime) -> list[Path]:
    files, written = [], 0
    when = start
    while written < lines:
        count = min(per_file, lines - written)
        end = when + timedelta(minutes=5)
        folder = out / "alb" / "AWSLogs" / ACCOUNT / "elasticloadbalancing" / REGION / end.strftime("%Y/%m/%d")
        folder.mkdir(parents=True, exist_ok=True)
        name = (f"{ACCOUNT}_elasticloadbalancing_{REGION}_app.demo-alb.50dc6c495c0c9188_"
                f"{end.strftime('%Y%m%dT%H%MZ')}_10.0.1.23_{rng.getrandbits(32):08x}.log.gz")
        body = "\n".join(alb_line(rng, when + timedelta(seconds=300 * i / count)) for i in range(count)) + "\n"
        path = folder / name
        path.write_bytes(gzip.compress(body.encode(), 6, mtime=0))
        files.append(path)
        written += count
        when = end
    return files


def write_s3(out: Path, lines: int, per_file: int, rng: random.Random, start: datetime) -> list[Path]:
    files, written = [], 0
    folder = out / "s3-access" / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    when = start
    while written < lines:
        count = min(per_file, lines - written)
        end = when + timedelta(minutes=5)
        path = folder / f"{end.strftime('%Y-%m-%d-%H-%M-%S')}-{rng.getrandbits(64):016X}"
        body = "\n".join(s3_line(rng, when + timedelta(seconds=300 * i / count)) for i in range(count)) + "\n"
        path.write_bytes(body.encode())
        files.append(path)
        written += count
        when = end
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--alb-lines", type=int, default=10_000)
    parser.add_argument("--s3-lines", type=int, default=10_000)
    parser.add_argument("--lines-per-file", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", default="2026-11-25T12:00:00", help="UTC time of the first line")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    start = datetime.fromisoformat(args.start).replace(tzinfo=timezone.utc)
    alb = write_alb(args.out, args.alb_lines, args.lines_per_file, rng, start)
    s3 = write_s3(args.out, args.s3_lines, args.lines_per_file, rng, start)
    print(f"wrote {args.alb_lines:,} ALB lines in {len(alb)} files and {args.s3_lines:,} S3 access lines "
          f"in {len(s3)} files under {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
