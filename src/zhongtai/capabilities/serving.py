"""Serving follows the registry: a watcher that notices a moved alias or a changed spec and swaps runtimes.

The metadata store is the truth of which version serves. Every gateway process runs one watcher thread that
polls the store's serving signal (`MetadataStore.serving_signal()`: one small query over the change log,
the alias table and the capability specs) every `interval` seconds, off the event loop. When the signal
moves, `Capabilities.sync()` builds and warms the new runtimes beside the serving ones and swaps them in
with one reference assignment: requests in flight finish on the old runtime, the next ones get the new one,
none waits for the build. So an alias moved by any process (CLI, HTTP, the flywheel) reaches every gateway
within `interval` plus the time to load the model.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from zhongtai.capabilities.runtime import Capabilities

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 1.0


class RegistryWatcher:
    """Polls a change signal in a daemon thread and syncs the capabilities when it moves."""

    def __init__(
        self, capabilities: Capabilities, signal: Callable[[], Any], interval: float = DEFAULT_INTERVAL
    ) -> None:
        self._capabilities = capabilities
        self._signal = signal
        self._interval = interval
        self._seen: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False
        self.syncs = 0  # how many times the signal moved and a sync ran (for the listing and tests)

    def start(self) -> RegistryWatcher:
        """Take the current signal as the baseline (the runtimes were just loaded) and start polling."""
        self._seen = self._read()
        self._thread = threading.Thread(target=self._run, name="zhongtai-registry-watcher", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop polling; a sync in progress finishes first."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def check(self) -> dict[str, str]:
        """One poll: when the signal moved since the last one, sync; returns what changed."""
        signal = self._read()
        if signal is None or signal == self._seen:
            return {}
        changed = self._capabilities.sync()
        # Only a completed sync moves the baseline, so a sync that raised is retried on the next poll.
        self._seen = signal
        self.syncs += 1
        return changed

    def _read(self) -> Any:
        try:
            signal = self._signal()
        except Exception as exc:
            # The store is unreachable: keep serving what is loaded, say so once, try again next poll.
            if not self._failing:
                log.warning("registry watcher cannot read the metadata store: %s", type(exc).__name__)
                self._failing = True
            return None
        if self._failing:
            log.info("registry watcher reads the metadata store again")
            self._failing = False
        return signal

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.check()
            except Exception:
                log.exception("registry watcher: sync failed; retrying at the next poll")
