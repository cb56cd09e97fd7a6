"""Build llama.cpp's own `llama-server` offline from the pinned llama-cpp-python sdist.

The sdist vendors the llama.cpp sources, so `pip download` (PyPI, hash-pinned) is all the
network this needs; CMake and a C++ compiler do the rest (several minutes, once per machine).
The binary goes to a cache folder named for the version and the build flags, outside the
checkout, so every clone and CI run on the machine reuses it. We build llama.cpp's C++ server
rather than serving through llama-cpp-python's Python server because the C++ one has what a
multi-role agent needs: parallel slots with a prompt cache each, continuous batching, and
schema-constrained output (see benchmarks/serving.py for the measured difference).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from runtime.settings import Settings, get_settings

VERSION = "0.3.36"
SDIST = f"llama_cpp_python-{VERSION}.tar.gz"
SDIST_SHA256 = "832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e"
CMAKE_FLAGS = [
    "-DCMAKE_BUILD_TYPE=Release",
    "-DLLAMA_BUILD_SERVER=ON",
    "-DLLAMA_USE_PREBUILT_UI=OFF",  # the web UI would be downloaded; the API needs none
    "-DLLAMA_OPENSSL=OFF",
    "-DLLAMA_CURL=OFF",  # no model downloads from hubs: the GGUF is fetched and verified by us
    "-DBUILD_SHARED_LIBS=OFF",  # one self-contained binary that can live in the cache folder
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    # ggml compiles for the build machine (-march=native), AMX tiles included when the CPU lists
    # them; a VM that lists amx_tile without granting the tile state faults at the first matrix
    # multiply (measured: SIGSEGV at `ldtilecfg` in ggml_backend_amx_mul_mat while loading the
    # model). With AMX off the AVX-512/AVX2 kernels run; explicit -mno-* flags outrank -march.
    "-DCMAKE_C_FLAGS=-mno-amx-tile -mno-amx-int8 -mno-amx-bf16",
    "-DCMAKE_CXX_FLAGS=-mno-amx-tile -mno-amx-int8 -mno-amx-bf16",
]
# The binary's folder is named for the version and these flags: changing either builds anew.
BUILD_ID = f"{VERSION}-{hashlib.sha256(' '.join(CMAKE_FLAGS).encode()).hexdigest()[:8]}"


class BuildError(RuntimeError):
    pass


def binary_path(settings: Settings) -> Path:
    """Where the server binary is: LLAMA_SERVER_BIN if set, else the cache folder of this build (BUILD_ID)."""
    if settings.llama_server_bin:
        return settings.llama_server_bin
    return settings.llama_server_dir / BUILD_ID / "llama-server"


def _say(message: str) -> None:
    print(f"[llama-server] {message}", file=sys.stderr, flush=True)


def _run(cmd: list[str], cwd: Path, log: Path, progress: bool) -> None:
    """Run a build step, appending its output to `log`; print CMake's [ NN%] lines as progress."""
    last = -10
    with (
        log.open("a") as out,
        subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc,
    ):
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            match = re.match(r"\[\s*(\d+)%\]", line)
            if progress and match and int(match.group(1)) >= last + 10:
                last = int(match.group(1))
                _say(f"compiling: {last}%")
    if proc.returncode != 0:
        raise BuildError(f"{' '.join(cmd[:3])} ... failed ({proc.returncode}); see {log}")


def _download_sdist(dest: Path) -> Path:
    requirement = dest / "requirements.txt"
    # --require-hashes: the sdist we compile is exactly the one pinned here.
    requirement.write_text(f"llama-cpp-python=={VERSION} --hash=sha256:{SDIST_SHA256}\n")
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
           "--require-hashes", "-r", str(requirement), "-d", str(dest)]  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise BuildError(f"pip download of llama-cpp-python {VERSION} failed:\n{result.stderr[-2000:]}")
    return dest / SDIST


def _safe_extract(archive: Path, dest: Path) -> Path:
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")  # the "data" filter refuses links and paths outside dest
    root = dest / f"llama_cpp_python-{VERSION}" / "vendor" / "llama.cpp"
    if not (root / "CMakeLists.txt").exists():
        raise BuildError(f"no vendored llama.cpp in {archive.name}")
    return root


def build(settings: Settings, force: bool = False, jobs: int | None = None) -> Path:
    """Return the path of a working llama-server binary, building it first if needed."""
    target = binary_path(settings)
    if target.exists() and not force:
        return target
    if settings.llama_server_bin:
        raise BuildError(f"LLAMA_SERVER_BIN={target} does not exist")
    for tool in ("cmake", "c++"):
        if shutil.which(tool) is None:
            raise BuildError(f"{tool} is needed to build llama-server (Debian: apt-get install cmake g++)")
    target.parent.mkdir(parents=True, exist_ok=True)
    log = target.parent / "build.log"
    log.write_text("")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="llama-build-") as tmp:
        work = Path(tmp)
        _say(f"downloading the llama-cpp-python {VERSION} sdist (llama.cpp sources, hash-pinned)")
        source = _safe_extract(_download_sdist(work), work)
        build_dir = source / "build"
        _say(f"configuring (log: {log})")
        _run(["cmake", "-S", str(source), "-B", str(build_dir), *CMAKE_FLAGS], source, log, progress=False)
        n = str(jobs or os.cpu_count() or 2)
        _say(f"compiling llama-server with {n} jobs (several minutes; once per machine)")
        _run(["cmake", "--build", str(build_dir), "--target", "llama-server", "-j", n], source, log, progress=True)
        built = build_dir / "bin" / "llama-server"
        if not built.exists():
            raise BuildError(f"the build finished without {built}; see {log}")
        partial = target.with_suffix(".partial")
        shutil.copy2(built, partial)
        partial.replace(target)  # atomic: a half-copied binary is never at `target`
    _say(f"built {target} in {time.monotonic() - started:.0f} s")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="llama-server-build", description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if the binary exists")
    parser.add_argument("--jobs", type=int, default=None, help="parallel compile jobs (default: all cores)")
    parser.add_argument("--path", action="store_true", help="print where the binary is (or would be) and exit")
    args = parser.parse_args(argv)
    settings = get_settings()
    if args.path:
        print(binary_path(settings))
        return 0
    try:
        print(build(settings, force=args.force, jobs=args.jobs))
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
