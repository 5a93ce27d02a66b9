"""What a benchmark needs, checked (or installed) before its long part, with the way to get what is missing.

Every bench calls these first, so a fresh machine stops within seconds with the command to run instead of
failing after minutes of data generation:

- `command("wrk", package="wrk")`: a Debian tool. Installed with `apt-get install -y` when we are root and it
  is missing (after `apt-get update` if the package lists are empty); otherwise the bench stops with the
  exact command to run.
- `service("Redis", "redis://127.0.0.1:6379/0", start="...")`: a server the bench talks to must accept a TCP
  connection; otherwise the bench stops with how to start it (or how to run without it).
- `sql_servers({"--crm-url": url})`: the same for each database a bench was pointed at (SQLite needs none).
- `peer_environment(BENCH / "feast" / "setup.sh")`: a peer's own virtual environment (Feast, Splink), made or
  brought up to date by its idempotent setup script; the project's environment is never touched.

A failed check raises `SystemExit` with one message (exit status 1). Stdlib only, so every environment,
the peers' included, can import it; `check_only(args)` lets each bench's `--check` flag stop after the checks.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

BENCH = Path(__file__).resolve().parent
CHECK_HELP = "Check (and install) what the bench needs, report, and stop before the long part."


def command(name: str, package: str | None = None) -> str:
    """The path of command `name`; its Debian `package` is installed when missing and we are root."""
    found = shutil.which(name)
    if found is not None:
        return found
    package = package or name
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise SystemExit(
            f"{name} is not installed: run `sudo apt-get install -y {package}` (Debian/Ubuntu), "
            "then start the bench again"
        )
    _say(f"{name} is not installed: apt-get install -y {package}")
    status = _apt_install(package)
    if status != 0:
        # A fresh image often has no package lists: fetch them once, then try again.
        _say("apt-get install failed; apt-get update, then again")
        subprocess.run(["apt-get", "update", "-q"], env=_apt_env(), check=False)
        status = _apt_install(package)
    found = shutil.which(name)
    if status != 0 or found is None:
        raise SystemExit(
            f"could not install {package} (apt-get exit status {status}): run "
            f"`apt-get update && apt-get install -y {package}`, then start the bench again"
        )
    return found


def service(name: str, url: str, start: str, timeout: float = 2.0) -> None:
    """Stop unless the server of `url` (host and port, default port by scheme) accepts a TCP connection."""
    host, port = _address(url)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
    raise SystemExit(f"{name} does not answer on {host}:{port} ({reason}): {start}")


def sql_servers(urls: Mapping[str, str | None]) -> None:
    """Every database given by an option (`{"--crm-url": url}`) must answer; embedded SQLite needs nothing."""
    for option, url in urls.items():
        if url and not url.startswith("sqlite"):
            service(
                f"The database of {option}", url, f"start it, or leave out {option} to use embedded SQLite"
            )


def peer_environment(setup: Path) -> Path:
    """Make (or find up to date) a peer's virtual environment with its setup script; its python's path.

    The script prints `python: PATH` last. It is given this interpreter as PYTHON unless PYTHON is set, so
    the peer gets the same Python 3.11 as the project.
    """
    env = {**os.environ}
    env.setdefault("PYTHON", _base_python())
    _say(f"peer environment: bash {_shown(setup)}")
    done = subprocess.run(["bash", str(setup)], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise SystemExit(
            f"bash {_shown(setup)} failed (exit status {done.returncode}): {' / '.join(detail)}; "
            "fix that and start the bench again"
        )
    python = next(
        (line.split(":", 1)[1].strip() for line in done.stdout.splitlines() if line.startswith("python:")),
        "",
    )
    if not python or not Path(python).exists():
        raise SystemExit(f"bash {_shown(setup)} made no python (it printed: {done.stdout.strip()!r})")
    return Path(python)


def check_only(checking: bool, bench: str) -> None:
    """After the checks: with `--check`, report and stop; otherwise say the long part starts."""
    if checking:
        _say(f"{bench}: ready (everything it needs is here)")
        raise SystemExit(0)
    _say(f"{bench}: prerequisites ok")


_DEFAULT_PORTS = {
    "redis": 6379,
    "nats": 4222,
    "postgresql": 5432,
    "postgres": 5432,
    "mysql": 3306,
    "mariadb": 3306,
    "http": 80,
    "https": 443,
}


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    port = parts.port or _DEFAULT_PORTS.get(scheme)
    if not parts.hostname or port is None:
        raise SystemExit(f"cannot tell the host and port of {scheme}:// URL {parts.hostname or '(no host)'}")
    return parts.hostname, port


def _apt_install(package: str) -> int:
    done = subprocess.run(["apt-get", "install", "-y", "-q", package], env=_apt_env(), check=False)
    return done.returncode


def _apt_env() -> dict[str, str]:
    return {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}


def _base_python() -> str:
    """The interpreter the project's environment was made from, so a peer environment gets the same one."""
    base = Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
    return str(base) if base.exists() else sys.executable


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(BENCH.parent))
    except ValueError:
        return str(path)


def _say(text: str) -> None:
    sys.stderr.write(f"bench: {text}\n")
    sys.stderr.flush()
