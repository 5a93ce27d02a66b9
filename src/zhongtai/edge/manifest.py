"""The bundle manifest: what a bundle holds and the SHA-256 of every file, checked on every load.

`manifest.json` names the capability, the model version, its artifact format, the Zhongtai version that
wrote it and the digest of each file (paths relative to the bundle folder, `/`-separated). A file that is
missing, changed or not listed where a loader looks for it is refused before anything is parsed, so a
tampered model or rule file never answers. `__pycache__` folders, which Python writes beside the bundled
runtime when it runs from the bundle, are neither listed nor checked.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .errors import EdgeError

MANIFEST_FILE = "manifest.json"
SCHEMA = "zhongtai-bundle/1"
_CHUNK = 1 << 20


def file_digest(path: Path) -> str:
    """The SHA-256 of a file, hex."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def bundle_files(folder: Path) -> list[str]:
    """Every file of a bundle folder but the manifest and Python's caches, sorted, `/`-separated."""
    found = []
    for path in folder.rglob("*"):
        relative = path.relative_to(folder)
        if path.is_file() and "__pycache__" not in relative.parts and relative.as_posix() != MANIFEST_FILE:
            found.append(relative.as_posix())
    return sorted(found)


def write_manifest(folder: Path, body: dict[str, Any]) -> dict[str, Any]:
    """Write `manifest.json` into `folder`: `body` plus the schema and the digest of every file there."""
    manifest = {"schema": SCHEMA, **body, "files": {f: file_digest(folder / f) for f in bundle_files(folder)}}
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return manifest


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of the bundle in `folder`, after checking every file it lists against its digest."""
    where = folder / MANIFEST_FILE
    try:
        manifest = json.loads(where.read_text("utf-8"))
    except FileNotFoundError:
        raise EdgeError(
            "not_found", f"{where} is missing: {folder} is not a bundle", "zhongtai export bundle writes one"
        ) from None
    except (ValueError, UnicodeDecodeError):
        raise EdgeError("invalid_argument", f"{where} is not a bundle manifest (not JSON)") from None
    if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA:
        raise EdgeError(
            "invalid_argument",
            f"{where} is not a {SCHEMA} manifest",
            "export the bundle again with this version of Zhongtai",
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or not files:
        raise EdgeError("invalid_argument", f"{where}: 'files' must list every file of the bundle")
    # A listed name must stay inside the bundle: a manifest cannot vouch for files elsewhere.
    for name in files:
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise EdgeError("invalid_argument", f"{where} lists {name!r}, outside the bundle")
    for name, expected in files.items():
        _check_file(folder, str(name), expected)
    return manifest


def _check_file(folder: Path, name: str, expected: Any) -> None:
    path = folder / name
    if not path.is_file():
        raise EdgeError("not_found", f"bundle file {path} is missing", "export the bundle again")
    if file_digest(path) != expected:
        raise EdgeError(
            "invalid_argument",
            f"bundle file {path} does not match its SHA-256 in the manifest: it was changed after export",
            "export the bundle again; never edit a bundle by hand",
        )


def listed(manifest: dict[str, Any], folder: Path, name: str) -> Path:
    """The path of bundle file `name`, which the manifest must list (so its digest was checked)."""
    if name not in manifest["files"]:
        raise EdgeError(
            "invalid_argument",
            f"{folder / MANIFEST_FILE} does not list {name}, which the bundle needs",
            "export the bundle again",
        )
    return folder / name
