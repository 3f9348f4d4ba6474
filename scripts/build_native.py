#!/usr/bin/env python3
"""Compile the C accelerator ingest/_native.c into _native.abi3.so.

    python scripts/build_native.py                                  # for this machine, into ingest/ (make test/demo)
    python scripts/build_native.py --arch arm64 --out build/native  # for the Lambda platform

The extension is written against the limited API (Py_LIMITED_API 0x030B0000), so one binary per CPU
architecture loads in CPython 3.11, 3.12 and 3.13, and the headers of the Python running this script
serve every target (both Lambda architectures are LP64 Linux).

- Host build (no --arch): the host C compiler ($CC, else `cc`, else zig for this machine).
- Lambda build (--arch x86_64|arm64): `zig cc` from the `ziglang` package on PyPI, targeting glibc
  2.17 (manylinux2014, like the wheels build_zip.py installs). It cross-compiles from any machine and
  needs no system toolchain. The binary is stripped, so the bytes do not depend on where the
  repository is checked out (zig would otherwise record the build directory in the debug info).

The output is written to a temporary name and renamed into place, so a running process that has the
old .so loaded is never handed a half-written file.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import shlex
import shutil
import struct
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SOURCE = REPO_ROOT / "ingest" / "_native.c"
OUTPUT_NAME = "_native.abi3.so"

# Lambda architecture -> zig target. glibc 2.17 is the manylinux2014 floor (build_zip.ARCH_PLATFORMS).
ZIG_TARGETS = {"x86_64": "x86_64-linux-gnu.2.17", "arm64": "aarch64-linux-gnu.2.17"}
ELF_MACHINES = {"x86_64": 62, "arm64": 183}  # e_machine: EM_X86_64, EM_AARCH64
COMMON_FLAGS = ["-O2", "-shared", "-fPIC", "-Wall", "-Wextra"]


class NativeBuildError(Exception):
    """The extension could not be built; the message says why and what to install."""


def python_include_dir() -> Path:
    if sysconfig.get_config_var("Py_GIL_DISABLED"):
        raise NativeBuildError(f"{sys.executable} is a free-threaded build, which has no limited API (abi3); "
                               "run this with a regular CPython 3.11+")
    if sysconfig.get_config_var("Py_DEBUG"):
        raise NativeBuildError(f"{sys.executable} is a debug build, whose headers change the object layout; "
                               "run this with a release CPython 3.11+")
    include = Path(sysconfig.get_path("include"))
    if not (include / "Python.h").is_file():
        raise NativeBuildError(f"no Python.h in {include}: install the headers of this Python "
                               "(e.g. apt-get install python3-dev)")
    return include


def host_compiler() -> list[str]:
    command = shlex.split(os.environ.get("CC", "cc"))
    if command and shutil.which(command[0]) is not None:
        return command
    if "CC" not in os.environ and importlib.util.find_spec("ziglang") is not None:
        # No system compiler: the dev extra's zig builds for this machine too, so the two README
        # commands still need nothing but Python.
        return [sys.executable, "-m", "ziglang", "cc"]
    raise NativeBuildError(f"no C compiler {command[0] if command else '(empty $CC)'!r} found: install one "
                           "(apt-get install gcc), set CC, or install the dev extra (it pins ziglang)")


def zig_compiler(arch: str) -> list[str]:
    if importlib.util.find_spec("ziglang") is None:
        raise NativeBuildError(f"cannot cross-compile for {arch}: the ziglang package is not installed in "
                               f"{sys.executable}; install the dev extra (`make`, or "
                               "`.venv/bin/pip install -e '.[dev]'`), which pins it")
    # -s: no debug info, hence no absolute build paths in the binary (reproducible zips).
    return [sys.executable, "-m", "ziglang", "cc", "-target", ZIG_TARGETS[arch], "-s"]


def elf_machine(path: Path) -> int:
    header = path.read_bytes()[:20]
    if len(header) < 20 or header[:4] != b"\x7fELF":
        raise NativeBuildError(f"{path} is not an ELF file")
    return struct.unpack_from("<H", header, 18)[0]


def compile_extension(arch: str | None, out_dir: Path, source: Path = DEFAULT_SOURCE) -> Path:
    """Compile `source` into `out_dir`/_native.abi3.so and return that path.

    arch None builds for this machine with the host compiler; "x86_64" or "arm64" builds for that
    Lambda architecture with zig. Compiler warnings go to stderr; failures raise NativeBuildError."""
    if arch is not None and arch not in ZIG_TARGETS:
        raise NativeBuildError(f"unknown architecture {arch!r}; expected one of {', '.join(sorted(ZIG_TARGETS))}")
    source = Path(source).resolve()
    if not source.is_file():
        raise NativeBuildError(f"{source} not found")
    compiler = host_compiler() if arch is None else zig_compiler(arch)
    include = python_include_dir()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / OUTPUT_NAME
    fd, partial_name = tempfile.mkstemp(prefix=".native-", suffix=".so.partial", dir=out_dir)
    os.close(fd)
    partial = Path(partial_name)
    command = [*compiler, *COMMON_FLAGS, f"-I{include}", str(source), "-o", str(partial)]
    try:
        try:
            result = subprocess.run(command, capture_output=True, text=True, cwd=out_dir)
        except OSError as error:
            raise NativeBuildError(f"could not run the compiler {command[0]}: {error}") from error
        if result.returncode != 0:
            raise NativeBuildError(f"compiling {source} for {arch or 'this machine'} failed "
                                   f"(exit {result.returncode}):\n{(result.stderr or result.stdout).strip()}\n"
                                   f"command: {shlex.join(command)}")
        if result.stderr.strip():
            print(result.stderr.rstrip(), file=sys.stderr)  # warnings: -Wall -Wextra are meant to be read
        if arch is not None and elf_machine(partial) != ELF_MACHINES[arch]:
            raise NativeBuildError(f"the compiler produced a binary for e_machine {elf_machine(partial)}, "
                                   f"not {arch} ({ELF_MACHINES[arch]})")
        partial.chmod(0o755)
        partial.replace(output)
    finally:
        partial.unlink(missing_ok=True)
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--arch", choices=sorted(ZIG_TARGETS),
                        help="build for this Lambda architecture with zig (default: this machine, host cc)")
    parser.add_argument("--out", type=Path,
                        help="output directory (default: next to the source; required with --arch)")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE,
                        help="the C file to compile (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.arch and args.out is None:
        parser.error("--arch needs --out: a Lambda binary does not belong in the working tree's package")
    out_dir = args.out if args.out is not None else args.source.resolve().parent
    started = time.monotonic()
    try:
        output = compile_extension(args.arch, out_dir, args.source)
    except NativeBuildError as error:
        print(f"build_native: error: {error}", file=sys.stderr)
        return 1
    target = f"{args.arch} Lambda (zig, {ZIG_TARGETS[args.arch]})" if args.arch else "this machine (host cc)"
    shown = os.path.relpath(output) if not os.path.relpath(output).startswith("..") else str(output)
    print(f"build_native: built {shown} for {target}, {output.stat().st_size:,} bytes, "
          f"{time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
