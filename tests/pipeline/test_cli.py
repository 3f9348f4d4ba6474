"""`python -m ingest` as a user runs it (a subprocess), on logs from scripts/generate_logs.py."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from .conftest import REPO, UNPARSABLE_LINE, FakeTime, generate_logs, gzipped, s3_access_lines, text

ALB_LINES, S3_LINES = 300, 200


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run([sys.executable, "-m", "ingest", *args], cwd=REPO, env=env, capture_output=True,
                          timeout=120)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("generated")
    generate_logs.main(["--out", str(out), "--alb-lines", str(ALB_LINES), "--s3-lines", str(S3_LINES),
                        "--lines-per-file", "120", "--seed", "7"])
    return out


def bulk_actions(directory: Path) -> list[dict]:
    actions = []
    for path in sorted(directory.glob("bulk-*.ndjson")):
        lines = path.read_bytes().splitlines()
        assert len(lines) % 2 == 0, f"{path.name} ends inside an item"
        actions += [json.loads(line) for line in lines[0::2]]
    return actions


def test_run_into_out_writes_one_document_per_generated_line(generated, tmp_path):
    result = cli("run", str(generated), "--out", str(tmp_path), "--bulk-max-docs", "100")

    assert result.returncode == 0, result.stderr.decode()
    actions = bulk_actions(tmp_path)
    assert len(actions) == ALB_LINES + S3_LINES
    assert len({a["index"]["_id"] for a in actions}) == ALB_LINES + S3_LINES
    indices = {a["index"]["_index"].rsplit("-", 1)[0] for a in actions}
    assert indices == {"alb-logs", "s3-access-logs"}
    assert all(len(path.read_bytes().splitlines()) <= 200 for path in tmp_path.glob("bulk-*.ndjson"))
    assert f"{ALB_LINES + S3_LINES} lines" in result.stderr.decode()


def test_running_twice_writes_the_same_files(generated, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    assert cli("run", str(generated), "--out", str(first)).returncode == 0
    assert cli("run", str(generated), "--out", str(second)).returncode == 0

    names = sorted(p.name for p in first.glob("bulk-*.ndjson"))
    assert names == sorted(p.name for p in second.glob("bulk-*.ndjson"))
    assert all((first / n).read_bytes() == (second / n).read_bytes() for n in names)


def test_run_exits_1_and_names_the_object_when_one_fails(generated, tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    good = source / "2026-11-25-12-05-00-0123456789ABCDEF"
    good.write_bytes(text(s3_access_lines(10)))
    whole = gzipped(text(s3_access_lines(300)))
    broken = source / "2026-11-25-12-10-00-0123456789ABCDEF"
    broken.write_bytes(whole[: len(whole) // 2])

    result = cli("run", str(source), "--out", str(tmp_path / "out"))

    assert result.returncode == 1
    assert str(broken) in result.stderr.decode()
    assert "truncated" in result.stderr.decode()
    assert len(bulk_actions(tmp_path / "out")) >= 10


@pytest.mark.parametrize("where", [[], ["--out", "x", "--opensearch-url", "http://127.0.0.1:9"]],
                         ids=["no destination", "two destinations"])
def test_run_needs_exactly_one_destination(where, generated):
    result = cli("run", str(generated), *where)

    assert result.returncode == 2
    assert b"--out" in result.stderr


def test_run_against_an_opensearch_url_sends_every_line(generated, opensearch):
    result = cli("run", str(generated), "--opensearch-url", opensearch.url, "--auth", "none")

    assert result.returncode == 0, result.stderr.decode()
    assert len({doc.id for doc in opensearch.docs}) == ALB_LINES + S3_LINES
    assert {request.path for request in opensearch.requests} == {"/_bulk"}


def test_parse_prints_one_json_document_per_input_line(tmp_path):
    lines = s3_access_lines(12)
    lines[4] = UNPARSABLE_LINE
    path = tmp_path / "2026-11-25-12-05-00-0123456789ABCDEF"
    path.write_bytes(gzipped(text(lines)))

    result = cli("parse", "--format", "s3-access", str(path))

    assert result.returncode == 0, result.stderr.decode()
    documents = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(documents) == len(lines)
    assert [d["log"]["file"]["line_number"] for d in documents] == list(range(1, 13))
    assert documents[4]["tags"] == ["parse_failure"]
    assert documents[4]["event"]["original"] == UNPARSABLE_LINE
    assert all("tags" not in d for i, d in enumerate(documents) if i != 4)


def test_parse_reads_stdin_and_exits_1_on_a_truncated_gzip(tmp_path):
    whole = gzipped(text(s3_access_lines(300)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    result = subprocess.run([sys.executable, "-m", "ingest", "parse", "--format", "s3-access"], cwd=REPO, env=env,
                            input=whole[: len(whole) // 2], capture_output=True, timeout=120)

    assert result.returncode == 1
    assert b"<stdin>" in result.stderr and b"truncated" in result.stderr
    complete_lines = zlib.decompressobj(31).decompress(whole[: len(whole) // 2]).count(b"\n")
    assert len(result.stdout.splitlines()) >= complete_lines > 0  # what came before the cut is still printed


# -- expected errors: one line, exit 2, never a traceback ------------------------------------------------

def no_aws_env(tmp_path) -> dict:
    """An environment with no AWS credentials anywhere (no variables, files or instance metadata)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(PYTHONPATH=str(REPO), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
               AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_EC2_METADATA_DISABLED="true")
    env.pop("INGEST_DEBUG", None)
    return env


def cli_env(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ingest", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)


def assert_one_error_line(result: subprocess.CompletedProcess, *expected: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m ingest: error: "), result.stderr
    for text in expected:
        assert text in lines[0], lines[0]


def test_parse_of_a_missing_file_is_one_error_line_naming_it(tmp_path):
    result = cli_env(no_aws_env(tmp_path), "parse", "--format", "alb", str(tmp_path / "absent.log"))
    assert_one_error_line(result, "absent.log", "No such file or directory", "; check the path")


def test_run_of_a_missing_local_source_is_one_error_line(tmp_path):
    result = cli_env(no_aws_env(tmp_path), "run", str(tmp_path / "absent"), "--out", str(tmp_path / "out"))
    assert_one_error_line(result, "absent: no such file or directory", "s3://bucket")


def test_run_of_an_s3_uri_without_a_bucket_is_one_error_line(tmp_path):
    result = cli_env(no_aws_env(tmp_path), "run", "s3://", "--out", str(tmp_path / "out"))
    assert_one_error_line(result, "names no bucket", "s3://bucket[/prefix]")


def test_run_from_s3_without_aws_credentials_is_one_error_line_saying_where_to_put_them(tmp_path):
    result = cli_env(no_aws_env(tmp_path), "run", "s3://my-logs/AWSLogs/", "--out", str(tmp_path / "out"))
    assert_one_error_line(result, "no AWS credentials", "AWS_PROFILE")


def test_sigv4_to_a_host_that_names_no_region_without_one_is_one_error_line(tmp_path):
    result = cli_env(no_aws_env(tmp_path), "run", str(tmp_path), "--opensearch-url", "https://search.example.com",
                     "--auth", "sigv4")
    assert_one_error_line(result, "region", "pass --region")


def test_debug_shows_the_traceback_of_an_expected_error(tmp_path):
    env = no_aws_env(tmp_path)
    flag = cli_env(env, "--debug", "parse", "--format", "alb", str(tmp_path / "absent.log"))
    variable = cli_env({**env, "INGEST_DEBUG": "1"}, "parse", "--format", "alb", str(tmp_path / "absent.log"))
    for result in (flag, variable):
        assert result.returncode != 0
        assert "Traceback" in result.stderr and "FileNotFoundError" in result.stderr


# -- auth default: auto -------------------------------------------------------------------------------------

def test_help_shows_that_auth_defaults_to_auto_and_what_auto_means(tmp_path):
    result = cli_env(no_aws_env(tmp_path), "run", "--help")
    help_text = " ".join(result.stdout.split())
    assert "--auth {auto,sigv4,basic,none}" in help_text
    assert "(default: auto)" in help_text
    assert "sigv4 for an Amazon OpenSearch endpoint" in help_text and "none for localhost" in help_text


def test_auto_refuses_to_guess_for_a_host_that_is_neither_aws_nor_local(tmp_path):
    result = cli_env(no_aws_env(tmp_path), "run", str(tmp_path), "--opensearch-url", "https://search.example.com")
    assert_one_error_line(result, "cannot tell how to authenticate to 'search.example.com'", "sigv4", "basic", "none")


def test_auto_sends_to_a_local_cluster_without_credentials(generated, opensearch, tmp_path):
    result = cli_env(no_aws_env(tmp_path), "run", str(generated), "--opensearch-url", opensearch.url)

    assert result.returncode == 0, result.stderr
    assert len({doc.id for doc in opensearch.docs}) == ALB_LINES + S3_LINES


# -- TLS: --ca-bundle, and it wins over REQUESTS_CA_BUNDLE ------------------------------------------------------

@pytest.fixture
def tls_opensearch(opensearch, self_signed):
    """The recording cluster behind TLS, with a self-signed certificate for 127.0.0.1 (cert.pem)."""
    import ssl

    cert_file, key_file = self_signed
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    opensearch.server.socket = context.wrap_socket(opensearch.server.socket, server_side=True)
    return opensearch, f"https://127.0.0.1:{opensearch.server.server_address[1]}", cert_file


def test_an_untrusted_certificate_stops_the_run_with_one_line_naming_ca_bundle(generated, tls_opensearch, tmp_path):
    _, url, _ = tls_opensearch
    result = cli_env(no_aws_env(tmp_path), "run", str(generated), "--opensearch-url", url)
    assert_one_error_line(result, "TLS certificate", "not trusted", "--ca-bundle")


@pytest.mark.parametrize("option", ["--ca-bundle", "--ca-certs"])
def test_the_ca_bundle_given_wins_over_requests_ca_bundle_in_the_environment(generated, tls_opensearch, tmp_path,
                                                                             option):
    import certifi

    opensearch, url, cert_file = tls_opensearch
    env = {**no_aws_env(tmp_path), "REQUESTS_CA_BUNDLE": certifi.where(), "CURL_CA_BUNDLE": certifi.where()}
    result = cli_env(env, "run", str(generated), "--opensearch-url", url, option, str(cert_file))

    assert result.returncode == 0, result.stderr
    assert len({doc.id for doc in opensearch.docs}) == ALB_LINES + S3_LINES


# -- a cluster that cannot be reached; objects of the wrong format ------------------------------------


def test_an_unreachable_cluster_shows_each_retry_with_its_cause_then_stops_in_one_line(tmp_path, monkeypatch,
                                                                                       capsys):
    import functools
    import socket

    from ingest import cli as cli_module
    from ingest import shipper

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    fake_time = FakeTime()
    monkeypatch.setattr(shipper, "OpenSearchSink", functools.partial(
        shipper.OpenSearchSink, backoff_base=1.0, backoff_cap=8.0, random=lambda: 1.0, sleep=fake_time.sleep,
        clock=fake_time.clock))
    for n in range(3):
        (tmp_path / f"2026-11-25-12-05-0{n}-0123456789ABCDEF").write_bytes(text(s3_access_lines(3)))

    code = cli_module.main(["run", str(tmp_path), "--opensearch-url", f"http://127.0.0.1:{port}",
                            "--retry-for", "30"])

    err = capsys.readouterr().err
    cause = f"connection refused at http://127.0.0.1:{port}; is the cluster up, is the URL right?"
    assert code == 2
    assert fake_time.sleeps == [1.0, 2.0, 4.0, 8.0, 8.0]  # one more 8 s wait would pass --retry-for
    assert err.count(cause) == 6  # five retries, then the one error line
    assert "retrying 3 items in 8.0 s (attempt 6, nothing indexed for 15 s)" in err
    assert err.splitlines()[-1] == ("python -m ingest: error: gave up after 6 attempts, nothing indexed for 23 s "
                                    f"(--retry-for): {cause}")
    assert "Lambda" not in err and "Traceback" not in err


def test_retry_for_defaults_to_a_quarter_of_an_hour_long_enough_for_a_throttling_burst():
    from ingest.cli import build_parser

    args = build_parser().parse_args(["run", "x", "--opensearch-url", "http://127.0.0.1:9200"])
    assert args.retry_for == 900


def test_a_run_where_most_lines_of_an_object_do_not_parse_warns_and_exits_1(tmp_path):
    lines = s3_access_lines(10)
    path = tmp_path / "2026-11-25-12-05-00-0123456789ABCDEF"
    path.write_bytes(text(lines))

    result = cli("run", str(path), "--format", "alb", "--out", str(tmp_path / "out"))

    err = result.stderr.decode()
    assert result.returncode == 1, err
    assert "10 of 10 lines did not parse as alb (more than 50%): is this the right format?" in err
    assert "1 object(s) had more than the --max-failure-share" in err


def test_the_failure_share_that_flags_an_object_is_an_option(tmp_path):
    lines = s3_access_lines(10)
    lines[0] = UNPARSABLE_LINE
    path = tmp_path / "2026-11-25-12-05-00-0123456789ABCDEF"
    path.write_bytes(text(lines))

    assert cli("run", str(path), "--out", str(tmp_path / "a"), "--max-failure-share", "0.05").returncode == 1
    assert cli("run", str(path), "--out", str(tmp_path / "b")).returncode == 0


def test_run_with_geoip_and_user_agents_enriches_the_documents_it_writes(generated, tmp_path, geoip_databases):
    city, asn = geoip_databases
    out = tmp_path / "out"

    result = cli("run", str(generated), "--out", str(out), "--geoip-city-db", str(city), "--geoip-asn-db", str(asn),
                 "--user-agents")

    assert result.returncode == 0, result.stderr.decode()
    docs = [json.loads(line) for path in sorted(out.glob("bulk-*.ndjson")) for line in path.read_bytes().splitlines()[1::2]]
    assert len(docs) == ALB_LINES + S3_LINES
    assert sum("geo" in doc.get("source", {}) for doc in docs) > len(docs) // 2
    assert sum("name" in doc.get("user_agent", {}) for doc in docs) > len(docs) // 2


def test_parse_with_a_database_that_is_not_one_is_one_line_and_exit_code_2(tmp_path):
    bad = tmp_path / "GeoLite2-City.mmdb"
    bad.write_text("not a database")

    result = cli("parse", "--format", "alb", "--geoip-city-db", str(bad), "/dev/null")

    assert result.returncode == 2
    assert result.stderr.decode() == (f"python -m ingest: error: GeoIP City database {bad} is not a MaxMind-format "
                                      "(.mmdb) database\n")
