"""What the end-to-end harnesses read from a `meshgate gateway` process they started: its log file
and its admin endpoint. Shared by scripts/adversarial/harness.py and
scripts/e2e-kubernetes.d/gateways.py (each puts this folder on sys.path)."""

from __future__ import annotations

import http.client
from pathlib import Path


class GatewayLog:
    """A mix-in for a class that sets `self.log_path`, the gateway's combined stdout/stderr."""

    log_path: Path
    #: How many lines `log_tail()` shows when not told.
    tail_lines = 15

    def log(self) -> str:
        """The log so far; "" while the file does not exist yet."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int | None = None) -> str:
        """The last `lines` lines (default `tail_lines`) on one line, joined with " | "."""
        return " | ".join(self.log().splitlines()[-(self.tail_lines if lines is None else lines):])


def http_get(connection: http.client.HTTPConnection, path: str) -> tuple[int, str]:
    """GET `path` on `connection` (closed afterwards): (status, body); (0, error) when no answer
    came."""
    try:
        connection.request("GET", path)
        r = connection.getresponse()
        return r.status, r.read().decode(errors="replace")
    except (OSError, http.client.HTTPException) as e:
        return 0, str(e)
    finally:
        connection.close()
