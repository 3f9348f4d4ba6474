#!/usr/bin/env python3
"""Build the Lambda zip and deploy infra/template.yaml (or, with --code-only, just the function code).

    python scripts/deploy.py --stack-name access-logs --region eu-west-1 --code-bucket my-artifacts \\
        --log-bucket my-logs --alb-prefix AWSLogs/ --nlb-prefix AWSLogs/ --cloudfront-prefix cloudfront/ \\
        --opensearch-url https://search-logs-abc.eu-west-1.es.amazonaws.com --domain-name logs --bootstrap

Steps: build the zip (scripts/build_zip.py) -> upload it to the code bucket under its SHA-256 (so new
code means a new key and CloudFormation updates the function, and unchanged code changes nothing) ->
create and execute a CloudFormation change set -> for an existing log bucket, merge our
ObjectCreated -> SQS notifications into the bucket's notification configuration (CloudFormation
cannot modify a bucket it did not create) -> optionally run scripts/bootstrap_opensearch.py.

--dry-run prints every command and AWS API call it would make, and makes none.
"""
from __future__ import annotations

import argparse
import hashlib
import ipaddress
import json
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any, Callable

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
from ingest.connection import endpoint_region_service  # noqa: E402
from ingest.errors import run_main  # noqa: E402
from ingest.formats import FORMATS  # noqa: E402

TEMPLATE = REPO_ROOT / "infra" / "template.yaml"
BUILD_ZIP = REPO_ROOT / "scripts" / "build_zip.py"
BOOTSTRAP = REPO_ROOT / "scripts" / "bootstrap_opensearch.py"
NOTIFICATION_ID_PREFIX = "access-logs-to-opensearch-"
NO_CHANGES_REASONS = ("didn't contain changes", "No updates are to be performed")
DEFAULT_ARCH = "arm64"  # the template's Architecture default; build_zip.py defaults to the same
# ELF e_machine values of the Lambda architectures.
ELF_MACHINES = {62: "x86_64", 183: "arm64"}
MIN_ADMIN_PREFIX = 8  # AdminCidr: the template's AllowedPattern accepts IPv4 /8 to /32
# Template parameter -> flag, one per log family AWS delivers to a place of its own (see the template).
LOG_PREFIX_FLAGS = {
    "AlbLogPrefix": "--alb-prefix",
    "NlbLogPrefix": "--nlb-prefix",
    "S3AccessLogPrefix": "--s3-access-prefix",
    "CloudFrontLogPrefix": "--cloudfront-prefix",
}
# Load balancers write <prefix>AWSLogs/<account>/elasticloadbalancing/...: these prefixes end in AWSLogs/,
# and may be equal (one notification then; the function tells the kinds apart by key).
LOAD_BALANCER_FLAGS = ("--alb-prefix", "--nlb-prefix")
INDEX_PREFIX_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]*")  # the template's AllowedPattern
_WORD_CASE = {"cloudfront": "CloudFront"}
# Formats the default (None) as nothing: the help says what an unset flag means instead of "(default: None)".
UNSET_DEFAULT = "%(default).0s"


class DeployError(Exception):
    """Deployment cannot continue; the message says what to fix."""


# ------------------------------------------------------------------ pure helpers (unit tested)

def code_key(prefix: str, zip_bytes: bytes) -> str:
    return f"{prefix}lambda-{hashlib.sha256(zip_bytes).hexdigest()}.zip"


def index_prefix_parameter(format_name: str) -> str:
    """The template parameter of a format's index prefix: alb-health-check -> AlbHealthCheckIndexPrefix."""
    return "".join(_WORD_CASE.get(word, word.capitalize()) for word in format_name.split("-")) + "IndexPrefix"


def index_prefix_flag(format_name: str) -> str:
    return f"--{format_name}-index-prefix"


def log_prefixes(args: argparse.Namespace) -> dict[str, str]:
    """{flag: prefix} of every log family, in the template's order."""
    return {flag: getattr(args, flag[2:].replace("-", "_")) for flag in LOG_PREFIX_FLAGS.values()}


def notification_prefixes(prefixes: dict[str, str]) -> list[str]:
    """The distinct non-empty prefixes: one notification each (equal load balancer prefixes share one)."""
    return list(dict.fromkeys(prefix for prefix in prefixes.values() if prefix))


def check_prefixes(prefixes: dict[str, str], dead_letter_prefix: str, same_bucket: bool) -> None:
    """Overlapping prefixes make S3 reject the notifications, or make dead-letter files re-trigger the function."""
    given = {flag: prefix for flag, prefix in prefixes.items() if prefix}
    if not given:
        raise DeployError(f"give at least one of {', '.join(prefixes)}: there is nothing to ingest")
    for flag, prefix in given.items():
        if "*" in prefix or "?" in prefix:
            raise DeployError(f"{flag} {prefix!r}: a key prefix, not a pattern (no * or ?)")
        if flag in LOAD_BALANCER_FLAGS and not (prefix == "AWSLogs/" or prefix.endswith("/AWSLogs/")):
            raise DeployError(f"{flag} {prefix!r} must end with AWSLogs/: load balancers write "
                              "<prefix>/AWSLogs/<account>/elasticloadbalancing/...; give e.g. 'AWSLogs/' or "
                              "'my-prefix/AWSLogs/'")
    flags = list(given)
    for index, first in enumerate(flags):
        for second in flags[index + 1:]:
            a, b = given[first], given[second]
            if a == b and first in LOAD_BALANCER_FLAGS and second in LOAD_BALANCER_FLAGS:
                continue  # one notification serves both: the function tells the kinds apart by key
            if a.startswith(b) or b.startswith(a):
                raise DeployError(f"{first} {a!r} and {second} {b!r} overlap; S3 rejects overlapping notification "
                                  "filters (only load balancer prefixes may be equal)")
    if same_bucket:
        for prefix in given.values():
            if dead_letter_prefix.startswith(prefix) or prefix.startswith(dead_letter_prefix):
                raise DeployError(f"dead-letter prefix {dead_letter_prefix!r} overlaps log prefix {prefix!r}: "
                                  "dead-letter files would be fed back to the function")


def zip_native_architectures(zip_path: Path) -> dict[str, str]:
    """{entry name: architecture} of the ELF shared libraries inside the zip (unknown machines by number)."""
    found = {}
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            name = info.filename
            if not (name.endswith(".so") or ".so." in name.rsplit("/", 1)[-1]):
                continue
            with archive.open(info) as member:
                header = member.read(20)
            if header[:4] != b"\x7fELF" or len(header) < 20:
                continue
            machine = int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")
            found[name] = ELF_MACHINES.get(machine, f"ELF machine {machine}")
    return found


def check_zip_architecture(zip_path: Path, arch: str) -> None:
    """Refuse a zip whose native libraries are for another CPU than the function's architecture."""
    try:
        native = zip_native_architectures(zip_path)
    except zipfile.BadZipFile:
        raise DeployError(f"{zip_path} is not a zip file; build one with scripts/build_zip.py") from None
    wrong = {name: found for name, found in native.items() if found != arch}
    if wrong:
        kinds = ", ".join(sorted(set(wrong.values())))
        example = sorted(wrong)[0]
        raise DeployError(f"{zip_path.name} holds native code for {kinds} ({example} and {len(wrong) - 1} more), not "
                          f"for --arch {arch}; rebuild it with `scripts/build_zip.py --arch {arch}` or deploy with "
                          f"--arch {sorted(set(wrong.values()))[0]} (nothing was changed)")


def check_admin_cidr(value: str) -> None:
    """AdminCidr opens the domain's HTTP API (behind the master user) to a network; never to everyone."""
    if value == "":
        return
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise DeployError(f"AdminCidr {value!r} is not a CIDR; give an IPv4 range such as 203.0.113.0/24") from None
    if network.version != 4 or network.prefixlen < MIN_ADMIN_PREFIX or "/" not in value:
        who = "anyone on the internet" if network.prefixlen == 0 else "too wide a network"
        raise DeployError(f"AdminCidr {value} would let {who} try the domain's master password; give an IPv4 "
                          f"range from /{MIN_ADMIN_PREFIX} to /32 (e.g. your office's 203.0.113.0/24), or leave it "
                          "empty")


def resolve_deploy_auth(auth: str, opensearch_url: str | None, create_domain: bool) -> str:
    """--auth auto: sigv4 for a created domain or an Amazon OpenSearch endpoint; otherwise the user chooses."""
    if auth != "auto":
        return auth
    if create_domain or (opensearch_url and endpoint_region_service(opensearch_url)):
        return "sigv4"
    if not opensearch_url:
        return "sigv4"  # --code-only: the stack keeps its own setting
    raise DeployError(f"--auth auto cannot tell how the function should authenticate to {opensearch_url} (not an "
                      "Amazon OpenSearch endpoint); pass --auth basic --secret-name NAME, or --auth sigv4")


def our_queue_configurations(queue_arn: str, prefixes: list[str]) -> list[dict]:
    return [
        {
            "Id": f"{NOTIFICATION_ID_PREFIX}{index}",
            "QueueArn": queue_arn,
            # All ObjectCreated events: ELB also delivers with multipart uploads and POST.
            "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}},
        }
        for index, prefix in enumerate(p for p in prefixes if p)
    ]


def merge_notification_configuration(existing: dict, queue_arn: str, prefixes: list[str]) -> dict:
    """The bucket's configuration with our queue entries replaced/added and everything else kept.

    put-bucket-notification-configuration replaces the whole configuration, so whatever other
    consumers subscribed (Lambda, SNS, other queues, EventBridge) must be sent back unchanged."""
    merged = {key: value for key, value in existing.items() if key != "ResponseMetadata"}
    others = [
        entry for entry in merged.get("QueueConfigurations", [])
        if not str(entry.get("Id", "")).startswith(NOTIFICATION_ID_PREFIX) and entry.get("QueueArn") != queue_arn
    ]
    merged["QueueConfigurations"] = others + our_queue_configurations(queue_arn, prefixes)
    return merged


def template_parameters(args: argparse.Namespace, key: str) -> dict[str, str]:
    parameters = {
        "LogBucketName": args.log_bucket,
        "CreateLogBucket": "true" if args.create_log_bucket else "false",
        **{name: getattr(args, flag[2:].replace("-", "_")) for name, flag in LOG_PREFIX_FLAGS.items()},
        "FunctionName": args.function_name,
        "CodeS3Bucket": args.code_bucket,
        "CodeS3Key": key,
        "Runtime": f"python{args.python}",
        "Architecture": args.arch,
        "DeadLetterPrefix": args.dead_letter_prefix,
        "OpenSearchAuth": args.auth,
        "OpenSearchDomainName": args.domain_name,
        "CreateOpenSearchDomain": "true" if args.create_domain else "false",
    }
    optional = {
        "OpenSearchUrl": args.opensearch_url,
        "OpenSearchSecretName": args.secret_name,
        "AlarmEmail": args.alarm_email,
        "CloudFrontLogDelivery": args.cloudfront_delivery,
        # Only those given: on an update the others keep their previous value.
        **{index_prefix_parameter(name): getattr(args, f"{name.replace('-', '_')}_index_prefix")
           for name in FORMATS},
    }
    parameters.update({name: value for name, value in optional.items() if value})
    for item in args.parameter:
        name, separator, value = item.partition("=")
        if not separator or not name:
            raise DeployError(f"--parameter {item!r}: expected Name=Value")
        if name == "AdminCidr":
            check_admin_cidr(value)
        parameters[name] = value
    return parameters


def change_set_parameters(wanted: dict[str, str], previous: set[str] | None) -> list[dict]:
    """On update, parameters we don't set keep their previous value (as `aws cloudformation deploy` does)."""
    entries = [{"ParameterKey": name, "ParameterValue": value} for name, value in sorted(wanted.items())]
    for name in sorted((previous or set()) - wanted.keys()):
        entries.append({"ParameterKey": name, "UsePreviousValue": True})
    return entries


def format_call(service: str, method: str, kwargs: dict) -> str:
    shown = ", ".join(f"{name}={_short(value)}" for name, value in kwargs.items())
    return f"{service}.{method}({shown})"


def _short(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value):,} bytes>"
    if isinstance(value, str) and len(value) > 200:
        return f"<{len(value):,} characters>"
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else repr(value)


# ------------------------------------------------------------------ effects

class Deployer:
    """Runs (or, in dry-run, only prints) each command and AWS call, in order."""

    def __init__(self, args: argparse.Namespace, session_factory: Callable[..., Any] | None = None,
                 run: Callable[..., Any] = subprocess.run, out=sys.stdout):
        self.args = args
        self.dry_run = args.dry_run
        self._session_factory = session_factory
        self._session = None
        self._clients: dict[str, Any] = {}
        self._run = run
        self.out = out

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    # -- AWS
    def session(self):
        if self._session is None:
            if self._session_factory is None:
                try:
                    import boto3
                except ImportError as error:
                    raise DeployError("boto3 is not installed: run from the project's .venv") from error
                self._session_factory = boto3.Session
            session = self._session_factory(profile_name=self.args.profile, region_name=self.args.region)
            if session.get_credentials() is None:
                raise DeployError("no AWS credentials found: set AWS_PROFILE / --profile, or AWS_ACCESS_KEY_ID and "
                                  "AWS_SECRET_ACCESS_KEY, or run `aws sso login` (nothing was changed)")
            if not session.region_name:
                raise DeployError("no AWS Region: pass --region or set AWS_REGION (nothing was changed)")
            self._session = session
        return self._session

    def call(self, service: str, method: str, **kwargs) -> Any:
        self.say(("[dry-run] " if self.dry_run else "") + format_call(service, method, kwargs))
        if self.dry_run:
            return None
        if service not in self._clients:
            self._clients[service] = self.session().client(service)
        try:
            return getattr(self._clients[service], method)(**kwargs)
        except Exception as error:  # botocore errors carry the API's own explanation
            if type(error).__name__ in {"NoCredentialsError", "PartialCredentialsError"}:
                raise DeployError(f"{service}.{method}: {error}") from None
            raise

    def command(self, argv: list[str]) -> None:
        self.say(("[dry-run] run: " if self.dry_run else "run: ") + " ".join(argv))
        if not self.dry_run:
            result = self._run(argv)
            if result.returncode != 0:
                raise DeployError(f"{Path(argv[1]).name} failed with exit code {result.returncode}")

    # -- steps
    def build_zip(self) -> tuple[Path, str]:
        if self.args.zip:
            zip_path = self.args.zip
        else:
            zip_path = REPO_ROOT / "build" / f"lambda-python{self.args.python}-{self.args.arch}.zip"
            self.command([sys.executable, str(BUILD_ZIP), "--arch", self.args.arch, "--python", self.args.python,
                          "--output", str(zip_path)])
        if self.dry_run and not zip_path.exists():
            return zip_path, f"{self.args.code_prefix}lambda-<sha256 of the zip>.zip"
        if not zip_path.is_file():
            raise DeployError(f"zip not found: {zip_path}; build it with scripts/build_zip.py, or leave out --zip")
        check_zip_architecture(zip_path, self.args.arch)
        return zip_path, code_key(self.args.code_prefix, zip_path.read_bytes())

    def upload(self, zip_path: Path, key: str) -> None:
        body = zip_path.read_bytes() if zip_path.exists() else b""
        self.call("s3", "put_object", Bucket=self.args.code_bucket, Key=key, Body=body,
                  ChecksumAlgorithm="SHA256", ServerSideEncryption="AES256")

    def stack_outputs(self) -> dict[str, str]:
        if self.dry_run:
            self.say(f"[dry-run] {format_call('cloudformation', 'describe_stacks', {'StackName': self.args.stack_name})}")
            return {}
        stack = self._describe_stack()
        if stack is None:
            raise DeployError(f"stack {self.args.stack_name!r} does not exist; deploy it first (without --code-only)")
        return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}

    def _describe_stack(self) -> dict | None:
        try:
            return self.call("cloudformation", "describe_stacks", StackName=self.args.stack_name)["Stacks"][0]
        except Exception as error:
            if "does not exist" in str(error):
                return None
            raise

    def update_code(self, key: str) -> None:
        function_name = self.args.function_name
        self.call("lambda", "update_function_code", FunctionName=function_name, S3Bucket=self.args.code_bucket,
                  S3Key=key, Architectures=[self.args.arch], Publish=False)
        self.wait("lambda", "function_updated_v2", FunctionName=function_name)

    def deploy_stack(self, key: str) -> dict[str, str]:
        if self.dry_run:
            self.say(f"[dry-run] {format_call('cloudformation', 'describe_stacks', {'StackName': self.args.stack_name})}"
                     "  -> ChangeSetType CREATE if the stack is new, else UPDATE")
            stack = None
            change_set_type = "CREATE|UPDATE"
        else:
            stack = self._describe_stack()
            if stack and stack["StackStatus"] == "REVIEW_IN_PROGRESS":
                stack = None  # an earlier CREATE change set was never executed
            change_set_type = "UPDATE" if stack else "CREATE"
        previous = {p["ParameterKey"] for p in stack.get("Parameters", [])} if stack else None
        name = f"deploy-{int(time.time())}"
        self.call("cloudformation", "create_change_set", StackName=self.args.stack_name, ChangeSetName=name,
                  ChangeSetType=change_set_type, TemplateBody=TEMPLATE.read_text(),
                  Parameters=change_set_parameters(template_parameters(self.args, key), previous),
                  Capabilities=["CAPABILITY_IAM"], Tags=[{"Key": "project", "Value": "access-logs-to-opensearch"}])
        try:
            self.wait("cloudformation", "change_set_create_complete", StackName=self.args.stack_name,
                      ChangeSetName=name)
        except Exception as error:
            detail = self._change_set_reason(name)
            if any(reason in detail for reason in NO_CHANGES_REASONS):
                self.say("no infrastructure changes")
                self.call("cloudformation", "delete_change_set", StackName=self.args.stack_name, ChangeSetName=name)
                return self.stack_outputs()
            raise DeployError(f"change set {name} failed: {detail or error}") from None
        self.call("cloudformation", "execute_change_set", StackName=self.args.stack_name, ChangeSetName=name)
        waiter = "stack_create_complete" if change_set_type == "CREATE" else "stack_update_complete"
        self.wait("cloudformation", waiter if not self.dry_run else "stack_create_complete|stack_update_complete",
                  StackName=self.args.stack_name)
        return self.stack_outputs()

    def _change_set_reason(self, name: str) -> str:
        response = self.call("cloudformation", "describe_change_set", StackName=self.args.stack_name,
                             ChangeSetName=name)
        return (response or {}).get("StatusReason", "")

    def wait(self, service: str, waiter: str, **kwargs) -> None:
        self.say(("[dry-run] " if self.dry_run else "") + f"wait for {service} {waiter} ({_short(kwargs)})")
        if not self.dry_run:
            if service not in self._clients:
                self._clients[service] = self.session().client(service)
            self._clients[service].get_waiter(waiter).wait(**kwargs, WaiterConfig={"Delay": 10, "MaxAttempts": 360})

    def put_bucket_notifications(self, queue_arn: str) -> None:
        bucket = self.args.log_bucket
        prefixes = notification_prefixes(log_prefixes(self.args))
        existing = self.call("s3", "get_bucket_notification_configuration", Bucket=bucket)
        if self.dry_run:
            additions = our_queue_configurations(queue_arn, prefixes)
            self.say(f"[dry-run] {format_call('s3', 'put_bucket_notification_configuration', {'Bucket': bucket})}"
                     f"  with the existing configuration kept and QueueConfigurations entries "
                     f"{json.dumps(additions, sort_keys=True)}")
            return
        merged = merge_notification_configuration(existing, queue_arn, prefixes)
        try:
            self.call("s3", "put_bucket_notification_configuration", Bucket=bucket, NotificationConfiguration=merged)
        except Exception as error:
            if "overlap" in str(error).lower():
                raise DeployError(f"s3://{bucket} already has a notification for ObjectCreated events on a prefix "
                                  f"overlapping {prefixes}; S3 allows only one destination per "
                                  f"event and prefix. Remove or narrow it, then rerun. ({error})") from None
            raise

    def bootstrap(self, outputs: dict[str, str]) -> None:
        url = self.args.opensearch_url or outputs.get("OpenSearchUrl") or "<OpenSearchUrl from stack outputs>"
        argv = [sys.executable, str(BOOTSTRAP), "--opensearch-url", url]
        if self.args.create_domain:
            # A created domain has fine-grained access control whose master user lives in the generated secret.
            secret = outputs.get("MasterUserSecretArn", "<MasterUserSecretArn from stack outputs>")
            argv += ["--auth", "basic", "--secret-id", secret]
        else:
            argv += ["--auth", self.args.auth]
            if self.args.auth == "basic":
                argv += ["--secret-id", self.args.secret_name]
        region = self.args.region or ("<the profile's Region>" if self.dry_run else self.session().region_name)
        argv += ["--region", region]
        self.command(argv)


def deploy(args: argparse.Namespace, deployer: Deployer) -> int:
    if not args.code_only:
        check_prefixes(log_prefixes(args), args.dead_letter_prefix, same_bucket=True)
        template_parameters(args, "<key>")  # refuse bad --parameter values (AdminCidr) before anything happens
    if args.zip and args.zip.is_file():
        check_zip_architecture(args.zip, args.arch)  # before credentials are even looked at
    if not args.dry_run:
        deployer.session()  # fail on missing credentials before building anything
    zip_path, key = deployer.build_zip()
    deployer.upload(zip_path, key)
    if args.code_only:
        deployer.update_code(key)
        deployer.say(f"updated the code of {args.function_name} to s3://{args.code_bucket}/{key}")
        return 0
    outputs = deployer.deploy_stack(key)
    if not args.create_log_bucket:
        deployer.put_bucket_notifications(outputs.get("NotificationQueueArn", "<NotificationQueueArn from stack outputs>"))
    if args.bootstrap:
        deployer.bootstrap(outputs)
    if args.create_domain and not args.dry_run:
        deployer.say(f"next: map the function role {outputs.get('FunctionRoleArn')} as a backend role in "
                     "OpenSearch fine-grained access control (docs/deploy.md, 'Created domain')")
    deployer.say("dry run: nothing was changed" if args.dry_run else f"deployed stack {args.stack_name}")
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                                     epilog="Expected errors print one line; INGEST_DEBUG=1 shows the traceback.")
    parser.add_argument("--stack-name", default="access-logs-to-opensearch", help="CloudFormation stack")
    parser.add_argument("--region", help="default: the profile's / $AWS_REGION")
    parser.add_argument("--profile")
    parser.add_argument("--code-bucket", required=True, help="bucket the zip is uploaded to (same Region)")
    parser.add_argument("--code-prefix", default="access-logs-to-opensearch/", help="key prefix for the zip")
    parser.add_argument("--zip", type=Path, help="deploy this zip instead of building one (its native libraries "
                                                 "must match --arch)")
    parser.add_argument("--arch", choices=["x86_64", "arm64"], default=DEFAULT_ARCH, help="Lambda architecture")
    parser.add_argument("--python", choices=["3.12", "3.13"], default="3.13", help="Lambda Python runtime")
    parser.add_argument("--function-name", default="access-logs-to-opensearch", help="Lambda function name")
    parser.add_argument("--log-bucket", help="bucket the logs are written to (required unless --code-only)")
    parser.add_argument("--create-log-bucket", action="store_true", help="create it (with notifications)")
    parser.add_argument("--alb-prefix", default="AWSLogs/",
                        help="key prefix, ending in AWSLogs/, of the ALB access, connection and health-check logs "
                             "and Classic Load Balancer logs ('' for none)")
    parser.add_argument("--nlb-prefix", default="",
                        help="key prefix, ending in AWSLogs/, of the Network Load Balancer logs; the same as "
                             "--alb-prefix when they write beside the others ('' for none)")
    parser.add_argument("--s3-access-prefix", default="", help="key prefix of the S3 access logs ('' for none)")
    parser.add_argument("--cloudfront-prefix", default="",
                        help="key prefix of the CloudFront standard logs ('' for none)")
    parser.add_argument("--cloudfront-delivery", choices=["v2", "legacy"],
                        help="with --create-log-bucket: CloudFront standard logging v2 (log delivery service) or "
                             "legacy (bucket ACL, so the bucket gets ACLs enabled); not given: the stack's value, "
                             "at first v2" + UNSET_DEFAULT)
    for name, fmt in FORMATS.items():
        parser.add_argument(index_prefix_flag(name), metavar="PREFIX",
                            help=f"OpenSearch index prefix of the {name} logs; not given: the stack's value, at "
                                 f"first {fmt.index_prefix}" + UNSET_DEFAULT)
    parser.add_argument("--dead-letter-prefix", default="dead-letter/", help="key prefix for dead letters")
    parser.add_argument("--opensearch-url", help="existing cluster/domain (not with --create-domain)")
    parser.add_argument("--auth", choices=["auto", "sigv4", "basic"], default="auto",
                        help="how the function authenticates: auto is sigv4 for an Amazon OpenSearch endpoint or "
                             "--create-domain, otherwise choose basic (with --secret-name) or sigv4")
    parser.add_argument("--secret-name", help="basic auth: Secrets Manager secret name with username/password")
    parser.add_argument("--domain-name", default="access-logs",
                        help="Amazon OpenSearch Service domain (existing or to create); scopes the IAM policy")
    parser.add_argument("--create-domain", action="store_true")
    parser.add_argument("--alarm-email")
    parser.add_argument("--parameter", action="append", default=[], metavar="NAME=VALUE",
                        help="any other template parameter, e.g. MemorySize=2048 (repeatable)")
    parser.add_argument("--code-only", action="store_true", help="only build, upload and update the function code")
    parser.add_argument("--bootstrap", action="store_true", help="then run scripts/bootstrap_opensearch.py")
    parser.add_argument("--dry-run", action="store_true", help="print the commands and AWS calls; change nothing")
    args = parser.parse_args(argv)
    if args.opensearch_url and not re.match(r"^https://", args.opensearch_url):
        parser.error("--opensearch-url must be https://")
    try:
        args.auth = resolve_deploy_auth(args.auth, args.opensearch_url, args.create_domain)
    except DeployError as error:
        parser.error(str(error))
    for name in FORMATS:
        value = getattr(args, f"{name.replace('-', '_')}_index_prefix")
        if value is not None and not INDEX_PREFIX_PATTERN.fullmatch(value):
            parser.error(f"{index_prefix_flag(name)} {value!r}: an index prefix is lower-case letters, digits, "
                         "'.', '_' and '-', starting with a letter or digit")
    if not args.code_only:
        if not args.log_bucket:
            parser.error("--log-bucket is required (unless --code-only)")
        if args.create_domain and args.opensearch_url:
            parser.error("--opensearch-url and --create-domain exclude each other")
        if not args.create_domain and not args.opensearch_url:
            parser.error("give --opensearch-url, or --create-domain")
        if args.auth == "basic" and not args.secret_name:
            parser.error("--auth basic needs --secret-name")
        if args.create_domain and args.auth != "sigv4":
            parser.error("a created domain is reached with --auth sigv4 (the function's role)")
    return args


def main(argv: list[str] | None = None, session_factory=None, run=subprocess.run) -> int:
    args = parse_args(argv)
    deployer = Deployer(args, session_factory=session_factory, run=run)
    try:
        # AWS API errors (AccessDenied, a missing bucket, a failed waiter) become one line too.
        return run_main("deploy", lambda: deploy(args, deployer))
    except DeployError as error:
        print(f"deploy: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
