"""Install the index templates, ISM retention policies and Dashboards saved objects into a cluster.

    python scripts/bootstrap_opensearch.py --opensearch-url https://search-logs-abc.eu-west-1.es.amazonaws.com
    python scripts/bootstrap_opensearch.py --opensearch-url https://localhost:9200 --auth basic \
        --username admin --ca-bundle ./root-ca.pem --dashboards-url https://localhost:5601
    python scripts/bootstrap_opensearch.py --opensearch-url ... --dry-run      # print, send nothing

Order: component templates, index templates (they name the components), ISM policies (created, or
updated with if_seq_no/if_primary_term), then the saved objects through the Dashboards import API.
Running it twice converges to the same state. It stops at the first failed step with exit code 1;
Dashboards import failures come back inside an HTTP 200, so the response body is checked too.
Credentials (ingest/auth.py, the same code as the Lambda and `python -m ingest run`): --auth auto (the
default) is sigv4 for an Amazon OpenSearch endpoint and none for localhost, else asks you to choose;
sigv4 uses the default boto3 chain and the endpoint's region and service; basic takes the password from
Secrets Manager (--secret-id), $OPENSEARCH_PASSWORD or a prompt. Passwords and Authorization headers are
never printed. Expected errors are one line; INGEST_DEBUG=1 shows the traceback.
"""
from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote, urlsplit

import requests

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
from ingest import auth as ingest_auth  # noqa: E402  (one implementation of SigV4 and Secrets Manager auth)
from ingest.connection import (  # noqa: E402
    AUTH_CHOICES, endpoint_region_service, http_session, is_loopback, is_tls_failure, resolve_auth_mode, tls_hint,
    tls_reason,
)
from ingest.errors import run_main  # noqa: E402
from ingest.formats import FORMATS  # noqa: E402

ASSETS = REPO_ROOT / "opensearch"
# One family per log format (ingest.formats.FORMATS), named after it: its default index prefix names
# its index template, its retention policy and its saved objects (each file holds one index-pattern
# whose title is "<prefix>-*").
DEFAULT_PREFIXES = {name: fmt.index_prefix for name, fmt in FORMATS.items()}
NDJSON_FILES = {name: f"{prefix}.ndjson" for name, prefix in DEFAULT_PREFIXES.items()}
DEFAULT_RETENTION_DAYS = 30
PREFIX_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,200}$")  # a valid index name start, no wildcards


class BootstrapError(Exception):
    """A step failed; the message says which and why."""


class NoISM(BootstrapError):
    """The cluster has no Index State Management plugin: it answers `no handler found` on _plugins/_ism."""


def _no_ism(response: requests.Response) -> bool:
    return response.status_code in (400, 404, 405) and "no handler found for uri" in response.text


@dataclass
class Request:
    method: str
    url: str
    headers: dict = field(default_factory=dict)
    json_body: object = None
    files: dict | None = None  # multipart: {"file": (filename, bytes, content_type)}
    describe: str = ""  # what the step does, for the report


# ------------------------------------------------------------------------------------------
# Assets


def load_json(path: Path):
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)


def component_templates(shards: int | None, replicas: int | None) -> list[tuple[str, dict]]:
    """(name, body) for every component template; --shards/--replicas patch the settings one."""
    out = []
    for path in sorted((ASSETS / "templates" / "component").glob("*.json")):
        body = load_json(path)
        index_settings = body.get("template", {}).get("settings", {}).get("index")
        if index_settings is not None:
            if shards is not None:
                index_settings["number_of_shards"] = shards
            if replicas is not None:
                index_settings["number_of_replicas"] = replicas
        out.append((path.stem, body))
    return out


def index_templates(prefixes: dict[str, str]) -> list[tuple[str, dict]]:
    """(name, body) per family; a renamed prefix renames the template and its index pattern."""
    out = []
    for family, default in DEFAULT_PREFIXES.items():
        body = load_json(ASSETS / "templates" / "index" / f"{default}.json")
        prefix = prefixes[family]
        body["index_patterns"] = [f"{prefix}-*"]
        body.setdefault("_meta", {})["description"] = (
            body["_meta"].get("description", "").replace(default, prefix))
        out.append((prefix, body))
    return out


def ism_policies(prefixes: dict[str, str], retention_days: int) -> list[tuple[str, dict]]:
    """(policy id, body) per family: delete indices `retention_days` after their creation."""
    out = []
    for family, default in DEFAULT_PREFIXES.items():
        body = load_json(ASSETS / "ism" / f"{default}-retention.json")
        policy = body["policy"]
        prefix = prefixes[family]
        for state in policy["states"]:
            for transition in state.get("transitions", []):
                if "min_index_age" in transition.get("conditions", {}):
                    transition["conditions"]["min_index_age"] = f"{retention_days}d"
        for template in policy["ism_template"]:
            template["index_patterns"] = [f"{prefix}-*"]
        policy["description"] = (policy["description"].replace(f"{default}-*", f"{prefix}-*")
                                 .replace(f"{DEFAULT_RETENTION_DAYS} days", f"{retention_days} days"))
        out.append((f"{prefix}-retention", body))
    return out


def saved_objects(prefixes: dict[str, str]) -> list[tuple[str, bytes, int]]:
    """(filename, ndjson bytes, object count) per family, index-pattern titles following the prefix."""
    out = []
    for family, name in NDJSON_FILES.items():
        path = ASSETS / "dashboards" / name
        if not path.exists():  # a format without dashboards yet
            continue
        lines = []
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            obj = json.loads(line)
            if obj["type"] == "index-pattern":
                obj["attributes"]["title"] = f"{prefixes[family]}-*"
            lines.append(json.dumps(obj, sort_keys=True, ensure_ascii=False))
        out.append((name, ("\n".join(lines) + "\n").encode("utf-8"), len(lines)))
    return out


# ------------------------------------------------------------------------------------------
# Connection


def check_url(name: str, url: str, auth: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise BootstrapError(f"{name} {url!r} is not an http(s) URL")
    # Credentials and signed requests only travel over TLS, except to this machine.
    if parts.scheme == "http" and auth != "none" and not is_loopback(parts.hostname):
        raise BootstrapError(f"{name} must use https with --auth {auth} (got {url})")
    return url.rstrip("/")


def default_dashboards_url(opensearch_url: str) -> str:
    parts = urlsplit(opensearch_url)
    if endpoint_region_service(opensearch_url):
        return f"{opensearch_url}/_dashboards"  # Amazon OpenSearch Service serves Dashboards here
    return f"{parts.scheme}://{parts.hostname}:5601"  # self-managed default port


def auth_mode(args) -> str:
    """--auth with `auto` resolved from the endpoint (sigv4 for Amazon OpenSearch, none for localhost)."""
    try:
        return resolve_auth_mode(args.auth, args.opensearch_url)
    except ValueError as error:
        raise BootstrapError(str(error)) from None


def prompted_credentials(args, prompt: Callable[[str], str]) -> tuple[str, str]:
    """--auth basic without --secret-id: --username, with $OPENSEARCH_PASSWORD or a prompt."""
    if not args.username:
        raise BootstrapError("--auth basic needs --secret-id, or --username with $OPENSEARCH_PASSWORD or a prompt")
    password = os.environ.get("OPENSEARCH_PASSWORD")
    if password is None:
        if not sys.stdin.isatty():
            raise BootstrapError("no password: set $OPENSEARCH_PASSWORD, use --secret-id, or run interactively")
        password = prompt(f"Password for {args.username}: ")
    return args.username, password


def build_auth(args, *, session: Any = None, prompt: Callable[[str], str] = getpass.getpass):
    """The requests auth for --auth, built by ingest.auth (the Lambda's own code); `session` is a boto3 Session."""
    mode = auth_mode(args)
    if mode == "basic" and not args.secret_id:
        return ingest_auth.BasicAuth(*prompted_credentials(args, prompt))
    try:
        return ingest_auth.build_auth(mode, url=args.opensearch_url, region=args.region, service=args.service,
                                      secret_id=args.secret_id, session=session)
    except ValueError as error:
        raise BootstrapError(str(error)) from None


# ------------------------------------------------------------------------------------------
# Steps


def request_headers(req: Request) -> dict:
    """Headers set explicitly; requests adds the multipart Content-Type (with its boundary) itself."""
    headers = dict(req.headers)
    if req.json_body is not None:
        headers["Content-Type"] = "application/json"
    return headers


class Runner:
    """Sends (or, in dry-run, prints) requests and reports each step."""

    def __init__(self, session: requests.Session | None, *, dry_run: bool, timeout: float, out):
        self.session = session  # from ingest.connection.http_session: auth, and --ca-bundle pinned
        self.dry_run = dry_run
        self.timeout = timeout
        self.out = out

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def print_request(self, req: Request) -> None:
        self.say(f"{req.method} {req.url}")
        for name, value in request_headers(req).items():
            self.say(f"{name}: {value}")
        if req.files:
            for form_field, (filename, content, content_type) in req.files.items():
                self.say(f"[multipart/form-data field {form_field!r}: {filename} ({content_type}, "
                         f"{len(content)} bytes)]")
        elif req.json_body is not None:
            self.say(json.dumps(req.json_body, indent=2))
        self.say("")

    def send(self, req: Request) -> requests.Response:
        data = json.dumps(req.json_body).encode("utf-8") if req.json_body is not None else None
        try:
            return self.session.request(req.method, req.url, headers=request_headers(req), data=data,
                                        files=req.files, timeout=self.timeout)
        except requests.RequestException as exc:
            if is_tls_failure(exc):
                raise BootstrapError(f"{req.describe}: TLS certificate of {req.url} not trusted "
                                     f"({tls_reason(str(exc))}); {tls_hint('--ca-bundle')}") from None
            raise BootstrapError(f"{req.describe}: {req.method} {req.url} failed: {exc}; check the URL and that "
                                 "the cluster is reachable from here") from None


def excerpt(response: requests.Response, limit: int = 2000) -> str:
    text = response.text
    return text if len(text) <= limit else text[:limit] + "..."


def expect(response: requests.Response, req: Request, ok_statuses=(200, 201)) -> dict:
    if response.status_code not in ok_statuses:
        raise BootstrapError(f"{req.describe}: HTTP {response.status_code} from {req.method} {req.url}: "
                             f"{excerpt(response)}")
    try:
        return response.json()
    except ValueError:
        raise BootstrapError(f"{req.describe}: HTTP {response.status_code} but the body is not JSON: "
                             f"{excerpt(response)}") from None


def put_template(runner: Runner, base: str, kind: str, name: str, body: dict) -> None:
    req = Request("PUT", f"{base}/{kind}/{quote(name)}", json_body=body, describe=f"{kind} {name}")
    if runner.dry_run:
        runner.print_request(req)
        return
    result = expect(runner.send(req), req, ok_statuses=(200,))
    if result.get("acknowledged") is not True:
        raise BootstrapError(f"{req.describe}: not acknowledged: {result}")
    runner.say(f"[ok] {req.describe}")


def put_ism_policy(runner: Runner, base: str, policy_id: str, body: dict) -> None:
    """Create the policy, or update it in place: ISM answers a plain PUT on an existing id with 409."""
    path = f"{base}/_plugins/_ism/policies/{quote(policy_id)}"
    describe = f"ISM policy {policy_id}"
    create = Request("PUT", path, json_body=body, describe=describe)
    if runner.dry_run:
        runner.say(f"# {describe}: GET {path} first; if it exists, the PUT carries "
                   f"?if_seq_no=<_seq_no>&if_primary_term=<_primary_term> from that GET")
        runner.print_request(Request("GET", path))
        runner.print_request(create)
        return
    for attempt in range(2):  # a second round covers a policy created between our GET and PUT
        get = Request("GET", path, describe=describe)
        current = runner.send(get)
        if _no_ism(current):
            raise NoISM(f"{describe}: this cluster has no ISM")
        if current.status_code == 404:
            response = runner.send(create)
            if response.status_code == 409 and attempt == 0:
                continue
            expect(response, create)
            runner.say(f"[ok] {describe} created")
            return
        existing = expect(current, get, ok_statuses=(200,))
        try:
            seq_no, primary_term = existing["_seq_no"], existing["_primary_term"]
        except KeyError:
            raise BootstrapError(f"{describe}: GET returned no _seq_no/_primary_term: {existing}") from None
        update = Request("PUT", f"{path}?if_seq_no={seq_no}&if_primary_term={primary_term}", json_body=body,
                         describe=describe)
        response = runner.send(update)
        if response.status_code == 409 and attempt == 0:
            continue  # changed under us; read the new seq_no and try once more
        expect(response, update)
        runner.say(f"[ok] {describe} updated (was seq_no {seq_no}); indices it already manages keep their "
                   f"policy version until POST _plugins/_ism/change_policy/<index>")
        return
    raise BootstrapError(f"{describe}: still in conflict after retrying")


def attach_existing(runner: Runner, base: str, prefix: str, policy_id: str) -> None:
    """ism_template only catches indices created after the policy; attach the ones already there."""
    req = Request("POST", f"{base}/_plugins/_ism/add/{quote(prefix)}-*", json_body={"policy_id": policy_id},
                  describe=f"attach {policy_id} to existing {prefix}-* indices")
    if runner.dry_run:
        runner.print_request(req)
        return
    result = expect(runner.send(req), req, ok_statuses=(200,))
    real_failures = [f for f in result.get("failed_indices", [])
                     if "already has a policy" not in str(f.get("reason", ""))]
    if real_failures:
        raise BootstrapError(f"{req.describe}: {real_failures}")
    runner.say(f"[ok] {req.describe}: {result.get('updated_indices', 0)} attached")


def import_saved_objects(runner: Runner, dashboards: str, tenant: str | None, filename: str, content: bytes,
                         expected: int) -> None:
    headers = {"osd-xsrf": "true"}
    if tenant is not None:
        headers["securitytenant"] = tenant
    req = Request("POST", f"{dashboards}/api/saved_objects/_import?overwrite=true", headers=headers,
                  files={"file": (filename, content, "application/ndjson")},
                  describe=f"import {filename}")
    if runner.dry_run:
        runner.print_request(req)
        return
    result = expect(runner.send(req), req, ok_statuses=(200,))
    # Dashboards answers 200 even when nothing was imported; `success` and `errors` say what happened.
    errors = result.get("errors") or []
    if result.get("success") is not True or errors:
        details = "; ".join(
            f"{e.get('type')}/{e.get('id')}: {(e.get('error') or {}).get('type')}"
            + (f" {e['error'].get('references')}" if (e.get('error') or {}).get('references') else "")
            for e in errors) or json.dumps(result)[:2000]
        raise BootstrapError(f"{req.describe}: Dashboards reported success={result.get('success')}: {details}")
    count = result.get("successCount")
    if count != expected:
        raise BootstrapError(f"{req.describe}: imported {count} of {expected} objects: {json.dumps(result)[:2000]}")
    runner.say(f"[ok] {req.describe}: {count} objects" + (f" (tenant {tenant!r})" if tenant is not None else ""))


# ------------------------------------------------------------------------------------------


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--opensearch-url", default=os.environ.get("OPENSEARCH_URL"),
                   help="cluster endpoint, e.g. https://search-logs-abc.eu-west-1.es.amazonaws.com "
                        "(default $OPENSEARCH_URL)")
    p.add_argument("--dashboards-url", help="default: <opensearch-url>/_dashboards on Amazon OpenSearch "
                                            "Service, else port 5601 on the same host")
    p.add_argument("--auth", choices=AUTH_CHOICES, default="auto",
                   help="auto: sigv4 for an Amazon OpenSearch endpoint (*.es.amazonaws.com, *.aoss.amazonaws.com, "
                        "*.aos.<region>.on.aws), none for localhost/127.0.0.1/::1, otherwise choose")
    p.add_argument("--region", help="SigV4 region (default: the endpoint's, else the profile's / $AWS_REGION)")
    p.add_argument("--service", choices=("es", "aoss"),
                   help="SigV4 service (default: aoss for *.aoss.amazonaws.com, else es)")
    p.add_argument("--secret-id", help="basic auth: Secrets Manager secret holding {\"username\",\"password\"}")
    p.add_argument("--username", help="basic auth without --secret-id; password from $OPENSEARCH_PASSWORD "
                                      "or a prompt")
    p.add_argument("--ca-bundle", help="CA certificate file (PEM) for a cluster with a private CA; trusted instead "
                                       "of REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE (TLS is always verified)")
    p.add_argument("--ca-certs", dest="ca_bundle", help=argparse.SUPPRESS)  # the name `python -m ingest` used
    p.add_argument("--tenant", default="global",
                   help="Dashboards tenant for the saved objects (securitytenant header; '' to send none)")
    p.add_argument("--retention-days", type=int, default=DEFAULT_RETENTION_DAYS, help="delete indices this old")
    p.add_argument("--shards", type=int, help="primary shards per daily index (default 1)")
    p.add_argument("--replicas", type=int, help="replicas per daily index (default 1)")
    for name, default in DEFAULT_PREFIXES.items():  # --alb-prefix, --s3-access-prefix, …
        variable = name.upper().replace("-", "_") + "_INDEX_PREFIX"
        p.add_argument(f"--{name}-prefix", default=default, metavar="PREFIX", help=f"as {variable} in the Lambda")
    p.add_argument("--s3-prefix", dest="s3_access_prefix", help=argparse.SUPPRESS)  # its name until 2026-12
    p.add_argument("--attach-existing", action="store_true",
                   help="also attach the retention policy to indices that already exist")
    p.add_argument("--skip-dashboards", action="store_true", help="install templates and ISM only")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    p.add_argument("--dry-run", action="store_true", help="print the requests instead of sending them")
    args = p.parse_args(argv)
    if not args.opensearch_url:
        p.error("--opensearch-url (or $OPENSEARCH_URL) is required")
    if args.retention_days < 1:
        p.error("--retention-days must be at least 1")
    for name in ("shards", "replicas"):
        value = getattr(args, name)
        if value is not None and value < (1 if name == "shards" else 0):
            p.error(f"--{name} out of range: {value}")
    args.prefixes = {name: getattr(args, name.replace("-", "_") + "_prefix") for name in DEFAULT_PREFIXES}
    for name, value in args.prefixes.items():
        if not PREFIX_RE.match(value):
            p.error(f"--{name}-prefix {value!r} is not a valid index name prefix (lowercase letters, digits, . _ -)")
    seen: dict[str, str] = {}
    for name, value in args.prefixes.items():
        if value in seen:
            p.error(f"--{seen[value]}-prefix and --{name}-prefix must differ")
        seen[value] = name
    return args


def main(argv: list[str] | None = None, *, out=None, err=None, session: Any = None,
         prompt: Callable[[str], str] = getpass.getpass) -> int:
    """Entry point; `session` (a boto3 Session) and `prompt` let tests supply the credential sources.
    Expected errors are one line on `err` (exit 1 for a failed step, 2 for anything else the user can fix)."""
    out = out or sys.stdout
    err = err or sys.stderr
    args = parse_args(argv)
    return run_main("bootstrap_opensearch", lambda: _bootstrap(args, out, err, session, prompt))


def _bootstrap(args, out, err, boto3_session: Any, prompt: Callable[[str], str]) -> int:
    try:
        mode = auth_mode(args)
        base = check_url("--opensearch-url", args.opensearch_url, mode)
        dashboards = check_url("--dashboards-url", args.dashboards_url or default_dashboards_url(base), mode)
        session = None
        if not args.dry_run:  # a dry run needs no credentials
            try:
                session = http_session(build_auth(args, session=boto3_session, prompt=prompt), args.ca_bundle)
            except ValueError as error:  # --ca-bundle that does not exist
                raise BootstrapError(str(error)) from None
        runner = Runner(session, dry_run=args.dry_run, timeout=args.timeout, out=out)
        prefixes = args.prefixes
        tenant = args.tenant if args.tenant != "" else None

        for name, body in component_templates(args.shards, args.replicas):
            put_template(runner, base, "_component_template", name, body)
        for name, body in index_templates(prefixes):
            put_template(runner, base, "_index_template", name, body)
        try:
            for (policy_id, body), family in zip(ism_policies(prefixes, args.retention_days), DEFAULT_PREFIXES):
                put_ism_policy(runner, base, policy_id, body)
                if args.attach_existing:
                    attach_existing(runner, base, prefixes[family], policy_id)
        except NoISM:  # e.g. the local test node (scripts/opensearch_node.py): no index-management plugin
            runner.say("[skipped] ISM retention policies: this cluster has no ISM (Index State Management "
                       "plugin), so old indices are not deleted automatically")
        if args.skip_dashboards:
            runner.say("[skipped] Dashboards saved objects (--skip-dashboards)")
        else:
            for filename, content, count in saved_objects(prefixes):
                import_saved_objects(runner, dashboards, tenant, filename, content, count)
    except BootstrapError as exc:
        print(f"[FAILED] {exc}", file=err, flush=True)
        return 1
    if args.dry_run:
        print("dry run: nothing was sent", file=out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
