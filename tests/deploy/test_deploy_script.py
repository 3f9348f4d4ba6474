"""scripts/deploy.py: what it would do (dry run), how it merges bucket notifications, how it fails."""
from __future__ import annotations

import importlib.util
import io
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from ingest.formats import FORMATS

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "deploy.py"
spec = importlib.util.spec_from_file_location("deploy_script", SCRIPT)
deploy = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = deploy  # dataclasses look their module up while the class is built
spec.loader.exec_module(deploy)

ENDPOINT = "https://search-logs-abc.eu-west-1.es.amazonaws.com"
QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:access-logs-NotificationQueue-abc"


@pytest.fixture
def fake_zip(tmp_path) -> Path:
    path = tmp_path / "lambda.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ingest/__init__.py", "")
    return path


def refuse_sessions(**_):
    raise AssertionError("a dry run must not create an AWS session")


def dry_run(*extra: str, zip_path: Path | None = None) -> tuple[int, str]:
    out = io.StringIO()
    argv = ["--dry-run", "--region", "eu-west-1", "--code-bucket", "artifacts", "--log-bucket", "alb-logs",
            "--opensearch-url", ENDPOINT, "--domain-name", "logs", *extra]
    if zip_path:
        argv += ["--zip", str(zip_path)]
    args = deploy.parse_args(argv)
    deployer = deploy.Deployer(args, session_factory=refuse_sessions,
                               run=lambda argv: pytest.fail(f"dry run executed {argv}"), out=out)
    return deploy.deploy(args, deployer), out.getvalue()


# ----------------------------------------------------------------------------- dry run

def test_dry_run_prints_every_step_in_order_and_touches_nothing(fake_zip):
    code, output = dry_run("--bootstrap", zip_path=fake_zip)
    assert code == 0
    lines = output.splitlines()
    assert all(line.startswith("[dry-run]") for line in lines[:-1])
    steps = [next(i for i, line in enumerate(lines) if marker in line) for marker in (
        "s3.put_object(", "cloudformation.create_change_set(", "cloudformation.execute_change_set(",
        "s3.get_bucket_notification_configuration(", "s3.put_bucket_notification_configuration(",
        "bootstrap_opensearch.py")]
    assert steps == sorted(steps)
    assert lines[-1] == "dry run: nothing was changed"


def test_dry_run_uploads_the_zip_under_its_content_hash(fake_zip):
    _, output = dry_run(zip_path=fake_zip)
    key = deploy.code_key("access-logs-to-opensearch/", fake_zip.read_bytes())
    assert f"Key='{key}'" in output
    assert f'"ParameterKey": "CodeS3Key", "ParameterValue": "{key}"' in output


def test_dry_run_passes_the_deployment_choices_as_stack_parameters(fake_zip):
    _, output = dry_run("--arch", "x86_64", "--python", "3.12", "--parameter", "MemorySize=2048",
                        "--alarm-email", "ops@example.com", zip_path=fake_zip)
    change_set = next(line for line in output.splitlines() if "create_change_set(" in line)
    for name, value in {"Architecture": "x86_64", "Runtime": "python3.12", "MemorySize": "2048",
                        "OpenSearchUrl": ENDPOINT, "OpenSearchAuth": "sigv4", "OpenSearchDomainName": "logs",
                        "LogBucketName": "alb-logs", "AlarmEmail": "ops@example.com"}.items():
        assert f'"ParameterKey": "{name}", "ParameterValue": "{value}"' in change_set
    assert "CAPABILITY_IAM" in change_set


def change_set_parameters_shown(output: str) -> dict[str, str]:
    change_set = next(line for line in output.splitlines() if "create_change_set(" in line)
    return dict(re.findall(r'"ParameterKey": "(\w+)", "ParameterValue": "([^"]*)"', change_set))


LOG_PREFIX_FLAGS = {"--alb-prefix": ("AlbLogPrefix", "lb/AWSLogs/"), "--nlb-prefix": ("NlbLogPrefix", "lb/AWSLogs/"),
                    "--s3-access-prefix": ("S3AccessLogPrefix", "s3-access/"),
                    "--cloudfront-prefix": ("CloudFrontLogPrefix", "cloudfront/"),
                    "--cloudfront-delivery": ("CloudFrontLogDelivery", "legacy")}


def test_dry_run_passes_every_log_prefix_and_index_prefix_flag_to_its_stack_parameter(fake_zip):
    index_flags = {f"--{name}-index-prefix": (parameter, f"my-{name}") for name, parameter in (
        ("alb", "AlbIndexPrefix"), ("s3-access", "S3AccessIndexPrefix"), ("nlb", "NlbIndexPrefix"),
        ("clb", "ClbIndexPrefix"), ("alb-connection", "AlbConnectionIndexPrefix"),
        ("alb-health-check", "AlbHealthCheckIndexPrefix"), ("cloudfront", "CloudFrontIndexPrefix"))}
    # One flag per format: a format added to FORMATS needs its row here and its parameter in the template.
    assert {flag[2:].removesuffix("-index-prefix") for flag in index_flags} == set(FORMATS)
    flags = {**LOG_PREFIX_FLAGS, **index_flags}
    _, output = dry_run(*(item for flag, (_, value) in flags.items() for item in (flag, value)), zip_path=fake_zip)
    shown = change_set_parameters_shown(output)
    for flag, (parameter, value) in flags.items():
        assert shown.get(parameter) == value, flag


def test_index_prefixes_not_given_are_left_to_the_stack_so_an_update_keeps_them(fake_zip):
    _, output = dry_run(zip_path=fake_zip)
    shown = change_set_parameters_shown(output)
    assert not [name for name in shown if name.endswith("IndexPrefix") or name == "CloudFrontLogDelivery"]
    assert {name: shown[name] for name in shown if name.endswith("LogPrefix")} == {
        "AlbLogPrefix": "AWSLogs/", "NlbLogPrefix": "", "S3AccessLogPrefix": "", "CloudFrontLogPrefix": ""}


def test_every_parameter_the_script_can_pass_is_one_the_template_declares():
    from cfnlint.decode import decode

    template, _ = decode(str(REPO_ROOT / "infra" / "template.yaml"))
    argv = ["--code-bucket", "a", "--log-bucket", "b", "--opensearch-url", ENDPOINT, "--alarm-email", "x@example.com",
            "--cloudfront-delivery", "v2", *(item for name in FORMATS for item in (f"--{name}-index-prefix", "p"))]
    passed = deploy.template_parameters(deploy.parse_args(argv), "key.zip")
    assert set(passed) - set(template["Parameters"]) == set()
    assert {name for name in template["Parameters"] if name.endswith(("LogPrefix", "IndexPrefix"))} <= set(passed)
    # The script refuses, before anything happens, what the template's AllowedPattern would refuse mid-deploy.
    assert {template["Parameters"][name]["AllowedPattern"] for name in passed if name.endswith("IndexPrefix")} == {
        f"^{deploy.INDEX_PREFIX_PATTERN.pattern}$"}


def test_dry_run_shows_one_notification_per_distinct_prefix_for_an_existing_bucket(fake_zip):
    _, output = dry_run("--nlb-prefix", "AWSLogs/", "--s3-access-prefix", "s3-access/", "--cloudfront-prefix",
                        "cloudfront/", zip_path=fake_zip)
    line = next(line for line in output.splitlines() if "put_bucket_notification_configuration(" in line)
    assert re.findall(r'"Name": "prefix", "Value": "([^"]*)"', line) == ["AWSLogs/", "s3-access/", "cloudfront/"]


def test_dry_run_without_a_prebuilt_zip_shows_the_build_command():
    _, output = dry_run("--arch", "arm64", "--python", "3.13")
    assert "[dry-run] run: " in output and "build_zip.py --arch arm64 --python 3.13 --output" in output


def test_dry_run_bootstrap_calls_the_colleagues_script_with_sigv4_and_region(fake_zip):
    _, output = dry_run("--bootstrap", zip_path=fake_zip)
    command = next(line for line in output.splitlines() if "bootstrap_opensearch.py" in line)
    assert command.endswith(f"bootstrap_opensearch.py --opensearch-url {ENDPOINT} --auth sigv4 --region eu-west-1")


def test_code_only_dry_run_updates_just_the_function_code(fake_zip):
    _, output = dry_run("--code-only", zip_path=fake_zip)
    assert "lambda.update_function_code(FunctionName='access-logs-to-opensearch'" in output
    assert "cloudformation" not in output and "notification" not in output


def test_created_log_bucket_gets_its_notifications_from_the_stack_not_the_script(fake_zip):
    _, output = dry_run("--create-log-bucket", zip_path=fake_zip)
    assert "bucket_notification_configuration" not in output
    assert '"ParameterKey": "CreateLogBucket", "ParameterValue": "true"' in output


# ----------------------------------------------------------------------------- notifications on an existing bucket

def test_merge_keeps_other_subscribers_and_replaces_our_previous_entries():
    existing = {
        "ResponseMetadata": {"HTTPStatusCode": 200},
        "LambdaFunctionConfigurations": [{"Id": "thumbnails", "LambdaFunctionArn": "arn:aws:lambda:x", "Events": ["s3:ObjectCreated:*"],
                                          "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "images/"}]}}}],
        "QueueConfigurations": [
            {"Id": "someone-else", "QueueArn": "arn:aws:sqs:eu-west-1:1:other", "Events": ["s3:ObjectRemoved:*"]},
            {"Id": "access-logs-to-opensearch-0", "QueueArn": QUEUE_ARN, "Events": ["s3:ObjectCreated:*"],
             "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "old-prefix/"}]}}},
        ],
        "EventBridgeConfiguration": {},
    }
    merged = deploy.merge_notification_configuration(existing, QUEUE_ARN, ["AWSLogs/", "s3-access/"])
    assert "ResponseMetadata" not in merged
    assert merged["LambdaFunctionConfigurations"] == existing["LambdaFunctionConfigurations"]
    assert merged["EventBridgeConfiguration"] == {}
    ids = [c["Id"] for c in merged["QueueConfigurations"]]
    assert ids == ["someone-else", "access-logs-to-opensearch-0", "access-logs-to-opensearch-1"]
    ours = merged["QueueConfigurations"][1:]
    assert [c["Filter"]["Key"]["FilterRules"][0]["Value"] for c in ours] == ["AWSLogs/", "s3-access/"]
    assert all(c["Events"] == ["s3:ObjectCreated:*"] for c in ours)
    assert deploy.merge_notification_configuration(merged, QUEUE_ARN, ["AWSLogs/", "s3-access/"]) == merged


@mock_aws
def test_notifications_are_put_on_an_existing_bucket_without_dropping_its_other_notifications(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    s3 = boto3.client("s3", region_name="eu-west-1")
    sqs = boto3.client("sqs", region_name="eu-west-1")
    s3.create_bucket(Bucket="alb-logs", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    other = sqs.get_queue_attributes(QueueUrl=sqs.create_queue(QueueName="other")["QueueUrl"],
                                     AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    ours = sqs.get_queue_attributes(QueueUrl=sqs.create_queue(QueueName="ours")["QueueUrl"],
                                    AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(Bucket="alb-logs", NotificationConfiguration={"QueueConfigurations": [
        {"Id": "keep-me", "QueueArn": other, "Events": ["s3:ObjectRemoved:*"]}]})

    args = deploy.parse_args(["--code-bucket", "artifacts", "--log-bucket", "alb-logs", "--opensearch-url", ENDPOINT,
                              "--region", "eu-west-1"])
    deployer = deploy.Deployer(args, session_factory=lambda **kw: boto3.Session(**kw), out=io.StringIO())
    deployer.put_bucket_notifications(ours)

    configurations = s3.get_bucket_notification_configuration(Bucket="alb-logs")["QueueConfigurations"]
    by_id = {c["Id"]: c for c in configurations}
    assert set(by_id) == {"keep-me", "access-logs-to-opensearch-0"}
    assert by_id["access-logs-to-opensearch-0"]["QueueArn"] == ours
    assert by_id["access-logs-to-opensearch-0"]["Events"] == ["s3:ObjectCreated:*"]

    # Redeployed with every log family (NLBs beside the other load balancers): one entry per distinct prefix,
    # the earlier entry replaced, the other subscriber still kept.
    args = deploy.parse_args(["--code-bucket", "artifacts", "--log-bucket", "alb-logs", "--opensearch-url", ENDPOINT,
                              "--region", "eu-west-1", "--nlb-prefix", "AWSLogs/", "--s3-access-prefix", "s3-access/",
                              "--cloudfront-prefix", "cloudfront/"])
    deploy.Deployer(args, session_factory=lambda **kw: boto3.Session(**kw), out=io.StringIO()).put_bucket_notifications(ours)
    configurations = s3.get_bucket_notification_configuration(Bucket="alb-logs")["QueueConfigurations"]
    ours_now = {c["Id"]: c["Filter"]["Key"]["FilterRules"][0]["Value"] for c in configurations if c["QueueArn"] == ours}
    assert ours_now == {"access-logs-to-opensearch-0": "AWSLogs/", "access-logs-to-opensearch-1": "s3-access/",
                        "access-logs-to-opensearch-2": "cloudfront/"}
    assert [c["Id"] for c in configurations if c["QueueArn"] == other] == ["keep-me"]


# ----------------------------------------------------------------------------- refusing bad setups

def prefixes(**given: str) -> dict[str, str]:
    """{flag: prefix} as parse_args would give them: --alb-prefix AWSLogs/ unless said otherwise."""
    defaults = {"alb": "AWSLogs/", "nlb": "", "s3_access": "", "cloudfront": ""}
    return {f"--{name.replace('_', '-')}-prefix": value for name, value in {**defaults, **given}.items()}


@pytest.mark.parametrize("given, dead_letter, says", [
    ({"s3_access": "AWSLogs/s3/"}, "dead-letter/", "overlap"),  # S3 rejects overlapping notifications
    ({"cloudfront": "AWSLogs/"}, "dead-letter/", "--alb-prefix 'AWSLogs/' and --cloudfront-prefix 'AWSLogs/' overlap"),
    ({"nlb": "AWSLogs/", "cloudfront": "AWSLogs/"}, "dead-letter/", "overlap"),
    ({"alb": ""}, "dead-letter/", "nothing to ingest"),
    ({}, "AWSLogs/dead-letter/", "dead-letter files would be fed back"),
    ({"alb": "", "cloudfront": "cf/"}, "cf/dead/", "dead-letter files would be fed back"),
    ({"alb": "my-alb/"}, "dead-letter/", "--alb-prefix 'my-alb/' must end with AWSLogs/"),  # ELB never writes there
    ({"nlb": "AWSLogs/123456789012/"}, "dead-letter/", "--nlb-prefix 'AWSLogs/123456789012/' must end with AWSLogs/"),
    ({"s3_access": "logs/*"}, "dead-letter/", "not a pattern"),
])
def test_overlapping_missing_or_misplaced_prefixes_are_refused_in_one_line(given, dead_letter, says):
    with pytest.raises(deploy.DeployError, match=re.escape(says)) as raised:
        deploy.check_prefixes(prefixes(**given), dead_letter, same_bucket=True)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("given", [
    {"nlb": "AWSLogs/"},  # load balancers of every kind beside each other: one notification, told apart by key
    {"alb": "alb/AWSLogs/", "nlb": "nlb/AWSLogs/", "s3_access": "s3-access/", "cloudfront": "cloudfront/"},
    {"alb": "", "nlb": "AWSLogs/"},
    {"alb": "", "cloudfront": "E2EXAMPLE"},  # CloudFront legacy prefixes need not be folders
])
def test_distinct_prefixes_and_equal_load_balancer_prefixes_are_accepted(given):
    deploy.check_prefixes(prefixes(**given), "dead-letter/", same_bucket=True)


def test_equal_load_balancer_prefixes_get_one_notification():
    assert deploy.notification_prefixes(prefixes(nlb="AWSLogs/", cloudfront="cf/")) == ["AWSLogs/", "cf/"]


def test_main_reports_a_bad_prefix_combination_in_one_line_with_exit_2(fake_zip, capsys):
    code = deploy.main(["--dry-run", "--region", "eu-west-1", "--code-bucket", "artifacts", "--log-bucket", "logs",
                        "--opensearch-url", ENDPOINT, "--zip", str(fake_zip), "--nlb-prefix", "AWSLogs/",
                        "--s3-access-prefix", "AWSLogs/s3/"], session_factory=refuse_sessions)
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""  # refused before any step, even a dry-run one
    assert captured.err.count("\n") == 1 and captured.err.startswith("deploy: error: --alb-prefix 'AWSLogs/' and "
                                                                      "--s3-access-prefix 'AWSLogs/s3/' overlap")


def test_a_bad_index_prefix_is_refused_by_the_argument_parser(capsys):
    with pytest.raises(SystemExit) as raised:
        deploy.parse_args(["--code-bucket", "a", "--log-bucket", "b", "--opensearch-url", ENDPOINT,
                           "--nlb-index-prefix", "NLB_Logs"])
    assert raised.value.code == 2
    assert "--nlb-index-prefix 'NLB_Logs': an index prefix is lower-case" in capsys.readouterr().err


def test_missing_credentials_stop_the_deploy_with_a_clear_message_and_exit_code_2(tmp_path, fake_zip):
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"), AWS_CONFIG_FILE=str(tmp_path / "none"),
               AWS_EC2_METADATA_DISABLED="true", AWS_REGION="eu-west-1")  # no instance-metadata lookups
    result = subprocess.run([sys.executable, str(SCRIPT), "--code-bucket", "artifacts", "--log-bucket", "alb-logs",
                             "--opensearch-url", ENDPOINT, "--zip", str(fake_zip)],
                            capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "no AWS credentials found" in result.stderr and "nothing was changed" in result.stderr


def test_opensearch_url_must_be_https(capsys):
    with pytest.raises(SystemExit):
        deploy.parse_args(["--code-bucket", "a", "--log-bucket", "b", "--opensearch-url", "http://plain:9200"])
    assert "must be https://" in capsys.readouterr().err


def test_update_keeps_previous_values_of_parameters_not_given_this_time():
    entries = deploy.change_set_parameters({"CodeS3Key": "new.zip"}, previous={"CodeS3Key", "MemorySize"})
    assert entries == [{"ParameterKey": "CodeS3Key", "ParameterValue": "new.zip"},
                       {"ParameterKey": "MemorySize", "UsePreviousValue": True}]


# ----------------------------------------------------------------------------- one architecture, checked

def zip_with_native(tmp_path: Path, machine: int) -> Path:
    """A zip whose ingest/_native.abi3.so is an ELF header for `machine` (62 x86_64, 183 aarch64)."""
    header = b"\x7fELF\x02\x01\x01" + bytes(11) + machine.to_bytes(2, "little") + bytes(44)
    path = tmp_path / f"lambda-{machine}.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ingest/__init__.py", "")
        archive.writestr("ingest/_native.abi3.so", header)
    return path


def test_build_zip_deploy_and_template_default_to_the_same_architecture():
    build_zip_spec = importlib.util.spec_from_file_location("build_zip_for_defaults", REPO_ROOT / "scripts" / "build_zip.py")
    build_zip = importlib.util.module_from_spec(build_zip_spec)
    build_zip_spec.loader.exec_module(build_zip)
    from cfnlint.decode import decode

    template, _ = decode(str(REPO_ROOT / "infra" / "template.yaml"))
    deploy_arch = deploy.parse_args(["--code-bucket", "a", "--code-only"]).arch
    assert build_zip.parse_args([]).arch == deploy_arch == template["Parameters"]["Architecture"]["Default"]


@pytest.mark.parametrize("script", ["build_zip.py", "deploy.py"])
def test_help_shows_the_default_architecture(script):
    result = subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / script), "--help"], capture_output=True,
                            text=True, check=True)
    assert "(default: arm64)" in " ".join(result.stdout.split())


def test_a_zip_built_for_another_architecture_is_refused_in_one_line_before_any_upload(tmp_path):
    x86_zip = zip_with_native(tmp_path, 62)
    with pytest.raises(deploy.DeployError) as raised:
        dry_run("--arch", "arm64", zip_path=x86_zip)
    message = str(raised.value)
    assert "native code for x86_64" in message and "not for --arch arm64" in message
    assert "build_zip.py --arch arm64" in message and "\n" not in message


def test_a_zip_built_for_the_functions_architecture_is_deployed(tmp_path):
    code, output = dry_run("--arch", "arm64", zip_path=zip_with_native(tmp_path, 183))
    assert code == 0 and "s3.put_object(" in output


def test_main_reports_a_wrong_architecture_zip_in_one_line_with_exit_2(tmp_path, capsys):
    code = deploy.main(["--dry-run", "--region", "eu-west-1", "--code-bucket", "artifacts", "--code-only",
                        "--arch", "x86_64", "--zip", str(zip_with_native(tmp_path, 183))],
                       session_factory=refuse_sessions)
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("deploy: error: ") and "native code for arm64" in err


# ----------------------------------------------------------------------------- auth default

def test_auth_auto_means_sigv4_for_an_amazon_endpoint_and_a_created_domain():
    common = ["--code-bucket", "a", "--log-bucket", "b"]
    assert deploy.parse_args([*common, "--opensearch-url", ENDPOINT]).auth == "sigv4"
    assert deploy.parse_args([*common, "--create-domain"]).auth == "sigv4"


def test_auth_auto_refuses_to_guess_for_another_cluster(capsys):
    with pytest.raises(SystemExit) as raised:
        deploy.parse_args(["--code-bucket", "a", "--log-bucket", "b", "--opensearch-url", "https://search.example.com"])
    assert raised.value.code == 2
    assert "--auth basic --secret-name NAME" in capsys.readouterr().err


# ----------------------------------------------------------------------------- AdminCidr

@pytest.mark.parametrize("cidr", ["0.0.0.0/0", "::/0", "10.0.0.0/0", "1.0.0.0/7", "2001:db8::/32", "not-a-cidr"])
def test_an_admin_cidr_open_to_the_internet_is_refused_before_anything_happens(cidr, fake_zip):
    args, deployer = _dry_run_args("--parameter", f"AdminCidr={cidr}", zip_path=fake_zip)
    with pytest.raises(deploy.DeployError, match="AdminCidr"):
        deploy.deploy(args, deployer)
    assert deployer.out.getvalue() == ""  # not even a dry-run step was printed


def test_a_narrow_admin_cidr_is_passed_to_the_stack(fake_zip):
    _, output = dry_run("--parameter", "AdminCidr=203.0.113.0/24", zip_path=fake_zip)
    assert '"ParameterKey": "AdminCidr", "ParameterValue": "203.0.113.0/24"' in output


def _dry_run_args(*extra, zip_path):
    out = io.StringIO()
    argv = ["--dry-run", "--region", "eu-west-1", "--code-bucket", "artifacts", "--log-bucket", "alb-logs",
            "--opensearch-url", ENDPOINT, "--domain-name", "logs", "--zip", str(zip_path), *extra]
    args = deploy.parse_args(argv)
    deployer = deploy.Deployer(args, session_factory=refuse_sessions,
                               run=lambda argv: pytest.fail(f"dry run executed {argv}"), out=out)
    assert out.getvalue() == ""
    return args, deployer


# ----------------------------------------------------------------------------- AWS errors in one line

@mock_aws
def test_an_aws_api_error_is_one_line_naming_the_call_and_what_to_check(fake_zip, monkeypatch, capsys):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "eu-west-1"}.items():
        monkeypatch.setenv(name, value)
    code = deploy.main(["--region", "eu-west-1", "--code-bucket", "no-such-bucket", "--code-only", "--zip",
                        str(fake_zip)], session_factory=lambda **kw: boto3.Session(**kw))
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("deploy: error: PutObject: NoSuchBucket")
