#!/usr/bin/env python3
"""Build the Lambda deployment zip: the `ingest` package plus its runtime dependencies.

    python scripts/build_zip.py --arch arm64 --python 3.13 --output build/lambda.zip
    python scripts/build_zip.py --python local --output /tmp/lambda.zip   # importable on this machine

Dependencies come from pyproject.toml `[project] dependencies` and the `enrich` extra, installed with pip for the Lambda
platform (manylinux2014 wheels, CPython, --only-binary), minus the libraries the Lambda Python runtime
already provides (boto3, botocore, s3transfer, jmespath). The archive is byte-for-byte reproducible
from the same inputs: sorted entries, fixed timestamps and permissions, fixed compression level.

"Same inputs" includes the versions of transitive dependencies (requests, urllib3, certifi, ...),
which pyproject.toml does not pin. By default they are constrained to the versions installed in the
interpreter running this script (the project's .venv, i.e. what the tests ran against); the versions
that went into the zip are printed. Pass --no-env-constraints to let pip pick the newest.

The C accelerator (`ingest/_native.c`) is compiled for the target by scripts/build_native.py (zig,
glibc 2.17; the host compiler for --python local) and shipped as `ingest/_native.abi3.so`. Native
files in the working tree's package (a host build from `make test`, say) are never shipped.

pip honours PIP_CACHE_DIR, so repeated builds need no downloads.
"""
from __future__ import annotations

import argparse
import importlib.metadata
import re
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_native import OUTPUT_NAME as NATIVE_OUTPUT_NAME, NativeBuildError, compile_extension  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = REPO_ROOT / "ingest"

# Provided by every Lambda Python runtime; shipping our own copy would only add ~25 MB.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath"})
ARCH_PLATFORMS = {"x86_64": "manylinux2014_x86_64", "arm64": "manylinux2014_aarch64"}
DEFAULT_ARCH = "arm64"  # the same as scripts/deploy.py --arch and the template's Architecture parameter
LAMBDA_PYTHONS = ("3.12", "3.13")

# 1980-01-01 is the earliest timestamp a zip entry can hold.
FIXED_DATE_TIME = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644  # regular file, rw-r--r--: Lambda runs code as a non-owner user
COMPRESS_LEVEL = 9
SIZE_TARGET_BYTES = 5 * 1024 * 1024
LAMBDA_DIRECT_UPLOAD_LIMIT = 50 * 1024 * 1024

# From a *.dist-info directory keep only what is legally or functionally needed.
DIST_INFO_KEEP = re.compile(r"^(METADATA|WHEEL|(LICEN[CS]E|COPYING|NOTICE|AUTHORS)[^/]*|licenses/.+)$")
DROP_DIR_NAMES = frozenset({"__pycache__", "tests", "test"})
DROP_SUFFIXES = (".pyc", ".pyo")
# In our own package: the C source and any binary built from it in the working tree (for whichever
# machine ran `make`). The zip gets the extension compiled for its target instead.
PACKAGE_NATIVE_SUFFIXES = (".c", ".h", ".o", ".so", ".pyd", ".dylib")
NATIVE_SOURCE_NAME = "_native.c"


class BuildError(Exception):
    """A build that cannot produce a correct zip; the message says why."""


def canonical_name(name: str) -> str:
    """PEP 503 normalisation, so "python_dateutil" and "python-dateutil" compare equal."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    if not match:
        raise BuildError(f"pyproject.toml: cannot read a package name from dependency {requirement!r}")
    return canonical_name(match.group(1))


# Optional extras shipped in every zip: `enrich` (GeoIP and user agents, ingest/enrich.py) costs about 1.1 MB
# zipped (ua-parser-rs is most of it) and is imported only when configured, so one zip serves both.
SHIPPED_EXTRAS = ("enrich",)


def runtime_requirements(pyproject: Path) -> list[str]:
    with pyproject.open("rb") as handle:
        project = tomllib.load(handle)["project"]
    extras = project.get("optional-dependencies", {})
    return list(project["dependencies"]) + [r for extra in SHIPPED_EXTRAS for r in extras.get(extra, [])]


def environment_constraints(requirements: list[str]) -> list[str]:
    """Versions installed here for every distribution that pyproject.toml does not pin itself."""
    direct = {requirement_name(r) for r in requirements}
    pins = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name and canonical_name(name) not in direct:
            pins[canonical_name(name)] = f"{name}=={dist.version}"
    return [pins[key] for key in sorted(pins)]


def pip_install_command(
    target: Path, requirements: list[str], python: str, arch: str, constraints_file: Path | None
) -> list[str]:
    command = [
        sys.executable, "-m", "pip", "install",
        "--quiet", "--disable-pip-version-check", "--no-input",
        "--target", str(target),
        "--only-binary=:all:",
        "--no-compile",  # .pyc files would be stale for another interpreter and are not reproducible
    ]
    if python != "local":
        command += [
            "--platform", ARCH_PLATFORMS[arch],
            "--implementation", "cp",
            "--python-version", python,
        ]
    if constraints_file is not None:
        command += ["--constraint", str(constraints_file)]
    # The runtime-provided libraries are resolved too (then left out of the zip) so that shared
    # dependencies such as python-dateutil and urllib3 stay within botocore's supported ranges:
    # our copies shadow the runtime's, and botocore imports them.
    return command + requirements


def record_paths(dist_info: Path, site: Path) -> set[Path]:
    record = dist_info / "RECORD"
    if not record.is_file():
        raise BuildError(f"{dist_info.name} has no RECORD; cannot tell which files belong to it")
    paths = set()
    for line in record.read_text(encoding="utf-8").splitlines():
        relative = line.split(",", 1)[0]
        if relative:
            paths.add((site / relative).resolve())
    return paths


def installed_distributions(site: Path) -> dict[str, tuple[str, Path]]:
    """canonical name -> (version, dist-info dir) for everything pip put into `site`."""
    found = {}
    for dist_info in sorted(site.glob("*.dist-info")):
        metadata = importlib.metadata.PathDistribution(dist_info).metadata
        found[canonical_name(metadata["Name"])] = (metadata["Version"], dist_info)
    return found


def is_dropped(relative: Path) -> bool:
    parts = relative.parts
    if parts[0] == "bin":  # console scripts; nothing in Lambda runs them
        return True
    if parts[0].endswith(".dist-info"):
        return not DIST_INFO_KEEP.match("/".join(parts[1:]))
    if any(part in DROP_DIR_NAMES for part in parts[:-1]):
        return True
    return relative.suffix in DROP_SUFFIXES


def collect_dependency_files(site: Path) -> tuple[dict[str, Path], dict[str, str]]:
    distributions = installed_distributions(site)
    excluded_files: set[Path] = set()
    excluded_dist_infos = set()
    for name in RUNTIME_PROVIDED & distributions.keys():
        excluded_files |= record_paths(distributions[name][1], site)
        excluded_dist_infos.add(distributions[name][1].name)
    files = {}
    for path in sorted(site.rglob("*")):
        relative = path.relative_to(site)
        if not path.is_file() or path.resolve() in excluded_files or relative.parts[0] in excluded_dist_infos:
            continue
        if not is_dropped(relative):
            files[relative.as_posix()] = path
    shipped = {name: version for name, (version, _) in distributions.items() if name not in RUNTIME_PROVIDED}
    return files, shipped


def collect_package_files(package_dir: Path) -> dict[str, Path]:
    if not (package_dir / "__init__.py").is_file():
        raise BuildError(f"{package_dir} is not a Python package (no __init__.py)")
    files = {}
    for path in sorted(package_dir.rglob("*")):
        relative = path.relative_to(package_dir.parent)
        if path.is_file() and not is_dropped(relative) and path.suffix not in PACKAGE_NATIVE_SUFFIXES:
            files[relative.as_posix()] = path
    return files


def build_native_extension(package_dir: Path, python: str, arch: str, out_dir: Path) -> dict[str, Path]:
    """The accelerator compiled for the zip's target, as {zip entry name: built file}."""
    source = package_dir / NATIVE_SOURCE_NAME
    if not source.is_file():
        raise BuildError(f"{source} not found: the zip must carry the C accelerator")
    try:
        built = compile_extension(None if python == "local" else arch, out_dir, source)
    except NativeBuildError as error:
        raise BuildError(f"the C accelerator could not be built: {error}") from error
    return {f"{package_dir.name}/{NATIVE_OUTPUT_NAME}": built}


def write_reproducible_zip(files: dict[str, Path], output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    with zipfile.ZipFile(partial, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE_TIME)
            info.create_system = 3  # Unix, so external_attr carries the permission bits
            info.external_attr = FILE_MODE << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name].read_bytes(), compresslevel=COMPRESS_LEVEL)
    partial.replace(output)


def check_no_runtime_provided(files: dict[str, Path]) -> None:
    top_levels = {name.split("/", 1)[0] for name in files}
    leaked = sorted(top_levels & RUNTIME_PROVIDED)
    if leaked:
        raise BuildError(f"runtime-provided libraries ended up in the zip: {', '.join(leaked)}")


def build(output: Path, python: str, arch: str, use_env_constraints: bool = True,
          package_dir: Path = PACKAGE_DIR) -> dict:
    requirements = runtime_requirements(REPO_ROOT / "pyproject.toml")
    with tempfile.TemporaryDirectory(prefix="lambda-build-") as scratch:
        scratch_dir = Path(scratch)
        # First, so that a missing compiler fails before any download.
        native_files = build_native_extension(package_dir, python, arch, scratch_dir / "native")
        site = scratch_dir / "site"
        constraints_file = None
        if use_env_constraints:
            constraints_file = scratch_dir / "constraints.txt"
            constraints_file.write_text("\n".join(environment_constraints(requirements)) + "\n")
        command = pip_install_command(site, requirements, python, arch, constraints_file)
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise BuildError(
                f"pip could not install the runtime dependencies for python {python} / {arch}:\n"
                f"{result.stderr.strip() or result.stdout.strip()}"
            )
        dependency_files, shipped = collect_dependency_files(site)
        package_files = {**collect_package_files(package_dir), **native_files}
        clash = sorted(dependency_files.keys() & package_files.keys())
        if clash:
            raise BuildError(f"a dependency installs files over the ingest package: {clash[:5]}")
        files = {**dependency_files, **package_files}
        check_no_runtime_provided(files)
        write_reproducible_zip(files, output)
        unzipped = sum(path.stat().st_size for path in files.values())
        native = {name: path.stat().st_size for name, path in native_files.items()}
    return {"output": output, "files": len(files), "unzipped": unzipped,
            "size": output.stat().st_size, "distributions": shipped, "native": native}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                                     epilog="Expected errors print one line; INGEST_DEBUG=1 shows the traceback.")
    parser.add_argument("--arch", choices=sorted(ARCH_PLATFORMS), default=DEFAULT_ARCH,
                        help="Lambda architecture (ignored with --python local)")
    parser.add_argument("--python", default="3.13",
                        help=f"Lambda Python version {' or '.join(LAMBDA_PYTHONS)}, or 'local' to build "
                             "for the interpreter running this script (for tests on this machine)")
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "build" / "lambda.zip", help="the zip to write")
    parser.add_argument("--package-dir", type=Path, default=PACKAGE_DIR,
                        help="the ingest package to ship (default: the one in this repository)")
    parser.add_argument("--no-env-constraints", action="store_true",
                        help="do not pin transitive dependencies to the versions installed here")
    args = parser.parse_args(argv)
    if args.python != "local" and not re.fullmatch(r"3\.\d+", args.python):
        parser.error(f"--python must look like 3.13 or be 'local', got {args.python!r}")
    if not (args.package_dir / "__init__.py").is_file():
        parser.error(f"--package-dir {args.package_dir} is not a Python package (no __init__.py)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(REPO_ROOT))
    from ingest.errors import run_main  # one-line errors (a missing --package-dir, an unwritable --output, ...)

    return run_main("build_zip", lambda: _main(args))


def _main(args: argparse.Namespace) -> int:
    if args.python not in LAMBDA_PYTHONS + ("local",):
        print(f"warning: python {args.python} is not one of the Lambda runtimes this project targets "
              f"({', '.join(LAMBDA_PYTHONS)})", file=sys.stderr)
    try:
        result = build(args.output.resolve(), args.python, args.arch, not args.no_env_constraints,
                       args.package_dir.resolve())
    except BuildError as error:
        print(f"build_zip: error: {error}", file=sys.stderr)
        return 1
    target = "local interpreter" if args.python == "local" else f"python{args.python} {args.arch}"
    versions = ", ".join(f"{name}=={version}" for name, version in sorted(result["distributions"].items()))
    print(f"dependencies: {versions}")
    for name, size in result["native"].items():
        print(f"accelerator: {name} ({size:,} bytes) for {target}")
    print(f"{result['output']}: {result['size']:,} bytes ({result['size'] / 2**20:.2f} MiB) zipped, "
          f"{result['unzipped'] / 2**20:.2f} MiB unzipped, {result['files']} files, for {target}")
    if result["size"] > LAMBDA_DIRECT_UPLOAD_LIMIT:
        print("build_zip: error: larger than Lambda's 50 MB direct-upload limit", file=sys.stderr)
        return 1
    if result["size"] > SIZE_TARGET_BYTES:
        print(f"warning: above the {SIZE_TARGET_BYTES // 2**20} MiB size target", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
