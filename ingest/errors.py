"""Expected user errors on the command line: one line `<prog>: error: what; what to do`, exit code 2.

Used by `python -m ingest` and the scripts in scripts/. An expected error is one the user can fix: a missing
file, a bad URL or argument, missing AWS credentials, a refused request, a TLS certificate not trusted, a
ValueError from configuration. Anything else is a bug and keeps its traceback. `--debug` (python -m ingest) or
INGEST_DEBUG=1 (everywhere) shows the traceback of expected errors too.

Nothing heavy is imported: botocore/requests/opensearch-py errors are recognised by module and class name.
"""
from __future__ import annotations

import os
import sys
from typing import Callable

from .connection import CA_OPTION, is_tls_failure, tls_hint, tls_reason

USAGE_EXIT = 2
DEBUG_VARIABLE = "INGEST_DEBUG"

CREDENTIALS_HINT = ("set AWS_PROFILE (or run `aws sso login`), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")


class UserError(Exception):
    """A problem the user can fix; the message says what is wrong and, after '; ', what to do."""


def debug_enabled() -> bool:
    return os.environ.get(DEBUG_VARIABLE, "").lower() in ("1", "true", "yes", "on")


def describe(error: BaseException, *, ca_option: str = CA_OPTION) -> str | None:
    """One line for an expected error, or None when `error` looks like a bug."""
    module = type(error).__module__ or ""
    name = type(error).__name__
    if isinstance(error, UserError):
        return str(error)
    if module.startswith("botocore"):
        return _describe_aws(error, name)
    if is_tls_failure(error):
        return f"TLS certificate not trusted ({tls_reason(str(error))}); {tls_hint(ca_option)}"
    if module.startswith(("requests", "urllib3", "opensearchpy")) and "Connection" in name:
        return f"cannot connect ({_first_line(error)}); check the URL, and that the cluster is reachable from here"
    if isinstance(error, OSError) and error.filename is not None:
        what = error.strerror or str(error)
        return f"{error.filename}: {what}; check the path"
    if isinstance(error, ValueError):
        return str(error)
    return None


def _describe_aws(error: BaseException, name: str) -> str:
    if name in ("NoCredentialsError", "PartialCredentialsError", "CredentialRetrievalError"):
        return f"no usable AWS credentials ({error}); {CREDENTIALS_HINT}"
    if name == "ProfileNotFound":
        return f"{error}; check AWS_PROFILE / --profile against `aws configure list-profiles`"
    if name == "NoRegionError":
        return "no AWS region; pass --region or set AWS_REGION"
    if isinstance(getattr(error, "response", None), dict) and "Error" in error.response:  # ClientError and its
        # modeled subclasses (s3.exceptions.NoSuchBucket, ...)
        info = getattr(error, "response", {}).get("Error", {})
        code, message = info.get("Code", "?"), info.get("Message", "")
        operation = getattr(error, "operation_name", "the AWS call")
        hint = ("the caller lacks that permission, or the credentials are wrong or expired"
                if "denied" in code.lower() or code in ("InvalidAccessKeyId", "SignatureDoesNotMatch",
                                                         "ExpiredToken", "UnrecognizedClientException")
                else "check the names and the region")
        return f"{operation}: {code}: {message}; {hint}"
    if name in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError"):
        return f"{error}; check the network and the region"
    return f"{name}: {error}"


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:300] if text else type(error).__name__


def report(prog: str, error: BaseException, *, ca_option: str = CA_OPTION, stream=None) -> int | None:
    """Print `error` as one line and return the exit code, or return None for an unexpected error."""
    if isinstance(error, KeyboardInterrupt):
        print(f"{prog}: interrupted", file=stream or sys.stderr)
        return 130
    message = describe(error, ca_option=ca_option)
    if message is None:
        return None
    print(f"{prog}: error: {message}", file=stream or sys.stderr)
    return USAGE_EXIT


def run_main(prog: str, main: Callable[[], int], *, debug: bool = False, ca_option: str = CA_OPTION) -> int:
    """Run `main()`; turn expected errors into one line and exit code 2 (130 for Ctrl-C)."""
    try:
        return main()
    except (Exception, KeyboardInterrupt) as error:
        if debug or debug_enabled():
            raise
        code = report(prog, error, ca_option=ca_option)
        if code is None:
            raise
        return code
