"""A tiny local HTTP server that answers from a script: each request takes the next step (a status with
headers and a JSON body, or a dropped connection), and every request it saw is kept."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DROP = "drop"  # close the connection without answering


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Script:
    steps: list[Any]  # (status, headers, body) tuples or DROP; the last one repeats
    seen: list[Seen] = field(default_factory=list)


def _handler(script: Script) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _answer(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b""
            script.seen.append(
                Seen(self.command, self.path, dict(self.headers.items()), json.loads(raw) if raw else None)
            )
            step = script.steps[min(len(script.seen), len(script.steps)) - 1]
            if step == DROP:
                self.close_connection = True
                self.connection.close()
                return
            status, headers, body = step
            payload = json.dumps(body).encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _answer

    return Handler


@contextmanager
def scripted(*steps: Any) -> Iterator[tuple[str, Script]]:
    """Serve the script on 127.0.0.1; yields the base URL and the script (with what it saw)."""
    script = Script(list(steps))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(script))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", script
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
