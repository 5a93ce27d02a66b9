"""Serving follows the registry: the loaded capabilities, and a watcher that notices a moved alias, a changed
spec or a new traffic split and swaps runtimes.

The metadata store is the truth of which version serves. Every gateway process runs one watcher thread that
polls the store's serving signal (`MetadataStore.serving_signal()`: one small query over the change log,
the alias table and the capability specs) every `interval` seconds, off the event loop. When the signal
moves, `Capabilities.sync()` builds and warms the new runtimes beside the serving ones and swaps them in
with one reference assignment: requests in flight finish on the old runtime, the next ones get the new one,
none waits for the build. So an alias moved by any process (CLI, HTTP, the flywheel) reaches every gateway
within `interval` plus the time to load the model.
"""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from zhongtai.capabilities.arms import ArmedRuntime, armed_target, build_armed
from zhongtai.errors import NotFound, ZhongtaiError

if TYPE_CHECKING:
    from zhongtai.features.online.base import OnlineStore
    from zhongtai.lake.storage import LakeStorage
    from zhongtai.meta.store import MetadataStore

log = logging.getLogger(__name__)

DEFAULT_INTERVAL = 1.0


class Capabilities:
    """Every loaded capability runtime by name. Reads are lock-free: the whole map is swapped on change."""

    def __init__(self, store: MetadataStore, storage: LakeStorage, online: OnlineStore) -> None:
        self._store = store
        self._storage = storage
        self._online = online
        self._runtimes: dict[str, ArmedRuntime] = {}
        self.errors: dict[str, str] = {}  # capabilities not serving at all, with the reason
        self.stale: dict[str, str] = {}  # serving an older runtime because the newer one failed to build

    @classmethod
    def load_all(cls, store: MetadataStore, storage: LakeStorage, online: OnlineStore) -> Capabilities:
        """Build a runtime for every registered capability; one that cannot load is logged and skipped."""
        capabilities = cls(store, storage, online)
        runtimes = {}
        for name in sorted(store.registered("capabilities")):
            try:
                runtimes[name] = build_armed(name, store, storage, online)
            except Exception as exc:
                # One capability without a champion (or with a broken artifact) must not keep the others
                # from serving; the reason is listed by GET /v1/capabilities and in the 404 hint.
                reason = exc.message if isinstance(exc, ZhongtaiError) else f"{type(exc).__name__}: {exc}"
                capabilities.errors[name] = reason
                log.warning("capability %s not loaded: %s", name, reason)
        capabilities._runtimes = runtimes
        return capabilities

    def get(self, name: str) -> ArmedRuntime:
        """The runtime of a loaded capability; NotFound otherwise."""
        runtime = self._runtimes.get(name)
        if runtime is None:
            hint = self.errors.get(name) or "list them with GET /v1/capabilities"
            raise NotFound("capability", name, hint)
        return runtime

    def names(self) -> list[str]:
        return sorted(self._runtimes)

    def runtimes(self) -> list[ArmedRuntime]:
        return [self._runtimes[name] for name in self.names()]

    def reload(self, name: str) -> ArmedRuntime:
        """Build (and warm) a new runtime beside the old one, then swap it in with one reference assignment.

        Requests already holding the old runtime finish on it; the next ones get the new one.
        """
        runtime = build_armed(name, self._store, self._storage, self._online)
        self._runtimes = {**self._runtimes, name: runtime}
        self.errors.pop(name, None)
        self.stale.pop(name, None)
        return runtime

    def sync(self) -> dict[str, str]:
        """Bring the loaded runtimes in line with the registry; returns what changed, by capability.

        Only capabilities whose target moved (spec, model spec or aliased version) are rebuilt, each built
        and warmed beside the one serving, then the whole map is swapped with one assignment, so a request
        sees either the old runtime or the new one, never a half-built one. A rebuild that fails leaves the
        old runtime serving (recorded in `stale`); a capability removed from the registry stops serving.
        """
        registered = set(self._store.registered("capabilities"))
        runtimes = {name: r for name, r in self._runtimes.items() if name in registered}
        changed = {name: "removed" for name in self._runtimes if name not in registered}
        for name in sorted(registered):
            current = runtimes.get(name)
            try:
                if current is not None and current.target == armed_target(self._store, name):
                    self.stale.pop(name, None)  # the registry points back at what serves
                    continue
                runtime = build_armed(name, self._store, self._storage, self._online)
            except Exception as exc:
                reason = exc.message if isinstance(exc, ZhongtaiError) else f"{type(exc).__name__}: {exc}"
                if current is None:
                    self.errors[name] = reason
                elif self.stale.get(name) != reason:
                    self.stale[name] = reason
                    serving = f"{current.model_name} v{current.model_version}"
                    log.warning("capability %s keeps serving %s: %s", name, serving, reason)
                continue
            runtimes[name] = runtime
            self.errors.pop(name, None)
            self.stale.pop(name, None)
            was = f"v{current.model_version}" if current is not None else "nothing"
            changed[name] = f"{runtime.model_name} v{runtime.model_version} (was {was})"
        if changed:
            self._runtimes = runtimes
            # The new runtimes live until the next change: out of the cyclic collector's walks, as startup's
            # objects are (gateway/app.py); the replaced ones are freed by their reference counts.
            gc.freeze()
            for name, what in changed.items():
                log.info("capability %s now serves %s", name, what)
        for name in list(self.errors):
            if name not in registered:
                del self.errors[name]
        return changed


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
