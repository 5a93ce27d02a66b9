"""Where lake files live: a local folder or any fsspec URL. Paths handed out are always absolute URLs/paths."""

from __future__ import annotations

import posixpath
from typing import Any

import fsspec
import pyarrow.fs as pafs


class LakeStorage:
    """The lake root. New data is written under `_staging/<run>` and moved in place when complete."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        # A fresh instance: fsspec caches filesystems by their arguments, not by the environment (AWS_*)
        # that s3fs also reads, so a cached one could point at another endpoint or credentials.
        self.fs, self.root = fsspec.core.url_to_fs(self.url, skip_instance_cache=True)
        self.local = self.fs.protocol in ("file", ("file", "local")) or "file" in self.fs.protocol

    def path(self, *parts: str) -> str:
        return posixpath.join(self.root, *parts)

    def staging(self, run_id: str) -> str:
        return self.path("_staging", run_id)

    def dataset_dir(self, dataset: str, run_id: str) -> str:
        return self.path(dataset, run_id)

    def arrow_fs(self) -> pafs.FileSystem:
        """A pyarrow filesystem over the same storage (pyarrow's own for local disk)."""
        if self.local:
            return pafs.LocalFileSystem()
        return pafs.PyFileSystem(pafs.FSSpecHandler(self.fs))

    def makedirs(self, path: str) -> None:
        self.fs.makedirs(path, exist_ok=True)

    def publish(self, staging: str, final: str) -> None:
        """Move a finished staging folder to its final place (a rename on local disk, so readers never see half)."""
        if self.local:
            self.fs.makedirs(posixpath.dirname(final), exist_ok=True)
            self.fs.mv(staging, final, recursive=True)
            return
        # Object stores have no folders to rename: copy each object, then drop the staged ones. Until the
        # metadata commit that follows, no version lists these objects, so readers never see a partial set.
        self.fs.invalidate_cache()
        for path in self.fs.find(staging):
            self.fs.copy(path, final + path[len(staging) :])
        self.fs.rm(staging, recursive=True)
        self.fs.invalidate_cache()

    def remove(self, path: str) -> None:
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)

    def size(self, path: str) -> int:
        return int(self.fs.size(path))

    def listdir(self, path: str) -> list[str]:
        if not self.fs.exists(path):
            return []
        return [posixpath.basename(p.rstrip("/")) for p in self.fs.ls(path, detail=False)]

    def display(self, path: str) -> str:
        """The path as users and other engines address it (protocol included for remote stores)."""
        if self.local:
            return path
        protocol = self.fs.protocol if isinstance(self.fs.protocol, str) else self.fs.protocol[0]
        return f"{protocol}://{path}"

    def storage_options(self) -> dict[str, Any]:
        return dict(getattr(self.fs, "storage_options", {}))
