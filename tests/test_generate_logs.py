"""scripts/generate_logs.py: its command line, and the traffic shape the cookbook and dashboards ask about."""
from __future__ import annotations

import gzip
import importlib.util
import re
import statistics
import subprocess
import sys
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "generate_logs.py"

_spec = importlib.util.spec_from_file_location("generate_logs_under_test", SCRIPT)
generate_logs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(generate_logs)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
TOKEN = re.compile(r'"[^"]*"|\[[^\]]*\]|\S+')


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120)


def lines_of(folder: Path) -> list[str]:
    out = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        out += (gzip.decompress(data) if path.suffix == ".gz" else data).decode().splitlines()
    return out


@pytest.mark.parametrize("args", [
    ["--start", "tomorrow"],
    ["--start", "now+2h"],
    ["--start", "now-2x"],
    ["--alb-lines", "-5"],
    ["--s3-lines", "-1"],
    ["--alb-lines", "many"],
    ["--lines-per-file", "0"],
    ["--unparsable-lines", "-3"],
])
def test_a_bad_argument_is_one_line_on_stderr_and_exit_code_2(tmp_path, args):
    result = run("--out", str(tmp_path / "logs"), *args)

    assert result.returncode == 2
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith("generate_logs.py: error: ") and args[0] in line
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "logs").exists(), "nothing is written for a bad command line"


def test_an_out_folder_that_cannot_be_made_is_one_line_and_exit_code_1(tmp_path):
    (tmp_path / "a-file").write_text("")

    result = run("--out", str(tmp_path / "a-file" / "logs"), "--alb-lines", "5")

    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith("generate_logs.py: error: cannot write under ") and "Traceback" not in result.stderr


def test_a_missing_out_is_one_line_too(tmp_path):
    result = run("--alb-lines", "5")

    assert result.returncode == 2
    assert result.stderr.splitlines() == ["generate_logs.py: error: the following arguments are required: --out"]


@pytest.mark.parametrize("start,first", [
    ("now", NOW),
    ("now-90m", NOW - timedelta(minutes=90)),
    ("now-6h", NOW - timedelta(hours=6)),
    ("now-2d", NOW - timedelta(days=2)),
    ("2026-11-20T08:30:00", datetime(2026, 11, 20, 8, 30, tzinfo=timezone.utc)),
    ("2026-11-20T08:30:00Z", datetime(2026, 11, 20, 8, 30, tzinfo=timezone.utc)),
    ("2026-11-20T09:30:00+01:00", datetime(2026, 11, 20, 8, 30, tzinfo=timezone.utc)),
])
def test_start_takes_now_relative_and_iso_times(tmp_path, start, first):
    assert generate_logs.main(["--out", str(tmp_path), "--alb-lines", "3", "--s3-lines", "0", "--start", start],
                              now=NOW) == 0

    [first_line, *_] = lines_of(tmp_path / "alb")
    assert TOKEN.findall(first_line)[1] == first.strftime("%Y-%m-%dT%H:%M:%S.000000Z")


def test_by_default_the_last_file_ends_now_so_the_last_24_hours_show_every_line(tmp_path):
    generate_logs.main(["--out", str(tmp_path), "--alb-lines", "2500", "--s3-lines", "2500",
                        "--lines-per-file", "500"], now=NOW)

    alb_times = [datetime.fromisoformat(TOKEN.findall(x)[1].replace("Z", "+00:00")) for x in lines_of(tmp_path / "alb")]
    s3_times = [datetime.strptime(TOKEN.findall(x)[2], "[%d/%b/%Y:%H:%M:%S %z]") for x in lines_of(tmp_path / "s3-access")]
    for times in (alb_times, s3_times):
        assert NOW - timedelta(hours=24) < min(times) and max(times) < NOW
        assert NOW - max(times) < timedelta(minutes=generate_logs.FILE_MINUTES)


def test_unparsable_lines_are_added_per_format_and_nothing_else_changes_count(tmp_path):
    generate_logs.main(["--out", str(tmp_path), "--alb-lines", "300", "--s3-lines", "200",
                        "--lines-per-file", "120", "--unparsable-lines", "9"], now=NOW)

    alb, s3 = lines_of(tmp_path / "alb"), lines_of(tmp_path / "s3-access")
    assert len(alb) == 309 and len(s3) == 209
    assert sum(line in generate_logs.UNPARSABLE for line in alb) == 9
    assert sum(line in generate_logs.UNPARSABLE for line in s3) == 9


@pytest.fixture(scope="module")
def traffic(tmp_path_factory):
    out = tmp_path_factory.mktemp("traffic")
    generate_logs.main(["--out", str(out), "--alb-lines", "6000", "--s3-lines", "6000", "--seed", "3"], now=NOW)
    return [TOKEN.findall(x) for x in lines_of(out / "alb")], [TOKEN.findall(x) for x in lines_of(out / "s3-access")]


def client(address_and_port: str) -> str:
    return address_and_port.rsplit(":", 1)[0]


def test_the_heavy_hitters_are_the_top_three_clients_and_most_clients_come_back(traffic):
    alb, s3 = traffic
    counts = Counter(client(f[3]) for f in alb)

    assert {ip for ip, _ in counts.most_common(3)} == set(generate_logs.HEAVY_HITTERS)
    repeat = sum(n for n in counts.values() if n > 1)
    assert repeat / len(alb) > 0.8
    assert any(":" in ip for ip in counts), "some clients are IPv6"
    assert Counter(f[3] for f in s3).most_common(1)[0][0] in generate_logs.HEAVY_HITTERS


def test_access_denied_comes_mostly_from_a_few_ips_for_a_few_keys(traffic):
    _, s3 = traffic
    denied = [f for f in s3 if f[9] == "403"]

    assert len(denied) > 200
    assert sum(f[3] in generate_logs.DENIED_IPS for f in denied) / len(denied) > 0.7
    assert sum(f[7] in generate_logs.DENIED_KEYS for f in denied) / len(denied) > 0.7
    top_denied_ips = {ip for ip, _ in Counter(f[3] for f in denied).most_common(3)}
    assert top_denied_ips == set(generate_logs.DENIED_IPS)


def test_the_slow_targets_are_the_slowest(traffic):
    alb, _ = traffic
    times: dict[str, list[float]] = {}
    for f in alb:
        if f[4] != "-" and float(f[6]) >= 0:
            times.setdefault(client(f[4]), []).append(float(f[6]))
    medians = {target: statistics.median(values) for target, values in times.items()}

    slowest = sorted(medians, key=medians.get, reverse=True)[:2]
    assert set(slowest) == set(generate_logs.SLOW_TARGETS)
    assert min(medians[t] for t in slowest) > 10 * max(m for t, m in medians.items() if t not in slowest)


def test_the_popular_objects_lead_the_gets(traffic):
    _, s3 = traffic
    gets = Counter(f[7] for f in s3 if f[6] == "REST.GET.OBJECT" and f[9] == "200")

    assert {key for key, _ in gets.most_common(2)} == set(generate_logs.POPULAR_KEYS[:2])


# --- NLB and Classic Load Balancer logs ----------------------------------------------------------

@pytest.fixture(scope="module")
def balancers(tmp_path_factory):
    out = tmp_path_factory.mktemp("balancers")
    generate_logs.main(["--out", str(out), "--alb-lines", "0", "--s3-lines", "0", "--nlb-lines", "3000",
                        "--clb-lines", "3000", "--lines-per-file", "1000", "--seed", "5"], now=NOW)
    return out


def test_nlb_and_classic_lines_are_off_by_default_so_existing_output_is_unchanged(tmp_path):
    generate_logs.main(["--out", str(tmp_path), "--alb-lines", "10", "--s3-lines", "10"], now=NOW)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alb", "s3-access"]


def test_nlb_and_classic_objects_are_named_as_aws_names_them_and_detected_as_their_formats(balancers):
    from ingest.formats import FORMATS, detect

    nlb = sorted(p for p in (balancers / "nlb").rglob("*") if p.is_file())
    clb = sorted(p for p in (balancers / "clb").rglob("*") if p.is_file())
    assert len(nlb) == len(clb) == 3
    for path in nlb:
        assert path.name.endswith(".log.gz") and gzip.decompress(path.read_bytes())
        assert detect(str(path.relative_to(balancers / "nlb"))) is FORMATS["nlb"]
    for path in clb:
        assert path.name.endswith(".log") and path.read_bytes()[:2] != b"\x1f\x8b"
        assert detect(str(path.relative_to(balancers / "clb"))) is FORMATS["clb"]


def test_every_generated_nlb_and_classic_line_parses(balancers):
    from ingest.formats import FORMATS

    for name in ("nlb", "clb"):
        lines = lines_of(balancers / name)
        assert len(lines) == 3000
        for line in lines:
            FORMATS[name].to_json(line)


def test_nlb_traffic_has_handshake_failures_with_alerts_and_a_protocol_mix(balancers):
    fields = [line.split(" ") for line in lines_of(balancers / "nlb")]
    failed = [f for f in fields if f[8] == "-"]
    assert 0.03 < len(failed) / len(fields) < 0.1
    assert all(f[11] != "-" and f[15] == "-" for f in failed)
    assert {f[15] for f in fields} == {"tlsv13", "tlsv12", "tlsv10", "-"}
    assert {f[4] for f in fields} == {listener for listener, _ in generate_logs.NLB_LISTENERS}
    assert any(":" in client(f[5]) for f in fields), "some clients are IPv6"


def test_classic_traffic_has_tcp_connections_and_requests_that_reached_no_backend(balancers):
    fields = [TOKEN.findall(line) for line in lines_of(balancers / "clb")]
    tcp = [f for f in fields if f[11] == '"- - - "']
    no_backend = [f for f in fields if f[3] == "-"]
    assert 0.1 < len(tcp) / len(fields) < 0.2
    assert no_backend and all(f[4:7] == ["-1", "-1", "-1"] and f[7] in ("502", "503", "504") for f in no_backend)


# --- ALB connection and health-check logs --------------------------------------------------------

@pytest.fixture(scope="module")
def elb_siblings(tmp_path_factory):
    out = tmp_path_factory.mktemp("siblings")
    assert generate_logs.main(["--out", str(out), "--alb-lines", "0", "--s3-lines", "0", "--alb-connection-lines",
                               "3000", "--alb-health-check-lines", "3000", "--lines-per-file", "1000"], now=NOW) == 0
    return out


def test_connection_and_health_check_lines_are_off_by_default_and_change_no_other_format(tmp_path):
    generate_logs.main(["--out", str(tmp_path / "a"), "--alb-lines", "50", "--s3-lines", "50"], now=NOW)
    generate_logs.main(["--out", str(tmp_path / "b"), "--alb-lines", "50", "--s3-lines", "50",
                        "--alb-connection-lines", "20", "--alb-health-check-lines", "20"], now=NOW)
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["alb", "s3-access"]
    for family in ("alb", "s3-access"):
        assert lines_of(tmp_path / "a" / family) == lines_of(tmp_path / "b" / family)


def test_connection_and_health_check_objects_are_named_as_aws_names_them_and_detected(elb_siblings):
    from ingest.formats import FORMATS, detect, key_info

    for family, prefix in (("alb-connection", "conn_log_"), ("alb-health-check", "health_check_log_")):
        paths = sorted((elb_siblings / family).rglob("*.log.gz"))
        assert len(paths) == 3
        for path in paths:
            key = path.relative_to(elb_siblings).as_posix()
            assert path.name.startswith(prefix + generate_logs.ACCOUNT + "_elasticloadbalancing_")
            assert detect(key) is FORMATS[family]
            assert key_info(key).account == generate_logs.ACCOUNT


def test_generated_connection_and_health_check_lines_all_parse(elb_siblings):
    from ingest.formats import FORMATS

    for family in ("alb-connection", "alb-health-check"):
        lines = lines_of(elb_siblings / family)
        assert len(lines) == 3000
        for line in lines:
            FORMATS[family].to_json(line)  # raises ParseError on a line it does not take


def test_connections_mix_plain_tls_and_mutual_tls_with_some_verification_failures(elb_siblings):
    fields = [TOKEN.findall(line) for line in lines_of(elb_siblings / "alb-connection")]
    listeners = Counter(f[3] for f in fields)
    assert set(listeners) == {"80", "443", "8443"} and listeners["443"] > listeners["8443"]
    verify = Counter(f[10] for f in fields if f[3] == "8443")
    assert verify["Success"] > sum(n for status, n in verify.items() if status.startswith("Failed:")) > 10
    assert all(f[4:11] == ["-"] * 7 for f in fields if f[3] == "80")
    # older lines end after conn_trace_id, newer ones after ip_address or AWS's placeholders
    assert Counter(len(f) for f in fields).keys() == {12, 15, 17}


def test_the_failing_target_fails_most_health_checks_and_lambda_targets_are_checked(elb_siblings):
    fields = [line.split(" ") for line in lines_of(elb_siblings / "alb-health-check")]
    failures = Counter(f[3] for f in fields if f[5] == "FAIL")
    assert failures.most_common(1)[0][0] == generate_logs.FAILING_TARGET + ":8080"
    assert {f[7] for f in fields if f[5] == "FAIL"} >= {"TimedOut", "ResponseCodeMismatch"}
    assert any(f[0] == "lambda" and f[3].startswith("arn:aws:lambda:") for f in fields)
    assert any(f[3].startswith("[2001:db8:") for f in fields)  # an IPv6 target


# -- CloudFront standard logs ---------------------------------------------------------------------

@pytest.fixture(scope="module")
def cloudfront(tmp_path_factory):
    out = tmp_path_factory.mktemp("cloudfront")
    generate_logs.main(["--out", str(out), "--alb-lines", "0", "--s3-lines", "0", "--cloudfront-lines", "3000",
                        "--lines-per-file", "400", "--unparsable-lines", "6", "--seed", "4"], now=NOW)
    return sorted(p for p in (out / "cloudfront").rglob("*") if p.is_file())


def test_no_cloudfront_logs_unless_asked(tmp_path):
    generate_logs.main(["--out", str(tmp_path), "--alb-lines", "5", "--s3-lines", "5"], now=NOW)
    assert not (tmp_path / "cloudfront").exists()


def test_cloudfront_objects_are_named_as_aws_names_them_and_detected_from_the_name(cloudfront):
    from ingest.formats import FORMATS, detect

    legacy = [p for p in cloudfront if "/legacy/" in p.as_posix()]
    v2 = [p for p in cloudfront if "/v2/AWSLogs/123456789012/CloudFront/" in p.as_posix()]
    assert legacy and v2 and len(legacy) + len(v2) == len(cloudfront) == 8
    for path in cloudfront:
        assert re.fullmatch(r"E2QWRUHAPOMQZL\.2026-11-25-\d\d\.[0-9a-f]{10}\.gz", path.name)
        assert detect(path.as_posix()) is FORMATS["cloudfront"]


def test_cloudfront_files_are_legacy_w3c_v2_w3c_with_its_own_fields_and_v2_json(cloudfront):
    def layout(path) -> str:
        first, second = gzip.decompress(path.read_bytes()).decode().split("\n")[:2]
        if first.startswith("{"):
            return "v2 json"
        assert first == "#Version: 1.0"
        return "legacy w3c" if second.startswith("#Fields: date time x-edge-location") else "v2 w3c"

    assert Counter(map(layout, cloudfront)) == {"legacy w3c": 6, "v2 w3c": 1, "v2 json": 1}


def test_every_generated_cloudfront_record_parses_and_only_the_unparsable_lines_fail(cloudfront):
    from ingest.bulk import BulkEncoder, encode_batches
    from ingest.formats import FORMATS, key_info

    documents = failures = skipped = 0
    for path in cloudfront:
        raw = gzip.decompress(path.read_bytes()).split(b"\n")[:-1]
        encoder = BulkEncoder(FORMATS["cloudfront"], path.as_posix(), key=key_info(path.as_posix()))
        for items, failed in encode_batches(encoder, iter([(raw, False)])):
            documents += len(items) - failed
            failures += failed
        skipped += len(encoder.skipped_lines)
    assert (documents, failures) == (3000, 6)
    assert skipped == 2 * sum(1 for p in cloudfront if gzip.decompress(p.read_bytes()).startswith(b"#Version"))
