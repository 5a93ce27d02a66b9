"""Local paths in specs: relative to the file that declares them, stored absolute, checked at plan time.

A spec names local files in two places: a files source's `url` (a folder) and a SQL source's URL when its
database is a file (`sqlite:///crm.db`, `duckdb:///warehouse.duckdb`). A relative path means "beside this
YAML file", whichever folder `plan` or `apply` was given and whatever the working directory, so the loader
rewrites it to an absolute path before anything compares or stores it. Object-storage URLs, server URLs and
values taken from the environment (`${env:...}`) are left as written.

A path that does not exist is not an error (the folder may be generated later, by an export or a job) but
a warning naming the file, line and field, so the mistake shows at plan time rather than at ingest.
"""

from __future__ import annotations

import glob
import re
from pathlib import Path

from pydantic import BaseModel

from zhongtai.spec.models import FilesSource, SqlSource

# SQLAlchemy URLs whose database part is a file path: three slashes then a relative path, four an absolute.
_FILE_DATABASE = re.compile(
    r"^(?P<head>(?:sqlite|duckdb)(?:\+[A-Za-z0-9_]+)?:///)(?P<path>[^?]*)(?P<tail>\?.*)?$"
)


def with_absolute_paths(spec: BaseModel, folder: Path) -> BaseModel:
    """The spec with its relative local paths resolved against `folder` (the declaring file's folder)."""
    if isinstance(spec, FilesSource) and _is_relative(spec.url):
        return spec.model_copy(update={"url": str((folder / spec.url).resolve())})
    if isinstance(spec, SqlSource):
        match = _FILE_DATABASE.match(spec.url)
        if match and _is_relative(match["path"]) and not match["path"].startswith((":memory:", "file:")):
            absolute = (folder / match["path"]).resolve()
            return spec.model_copy(update={"url": f"{match['head']}{absolute}{match['tail'] or ''}"})
    return spec


def missing_source_path(spec: BaseModel) -> str | None:
    """What is missing for a source whose local folder or database file does not exist; None when all is there."""
    if isinstance(spec, FilesSource) and _is_local(spec.url):
        folder = Path(spec.url.removeprefix("file://"))
        if not folder.is_dir():
            return f"local folder {folder} does not exist"
    if isinstance(spec, SqlSource):
        match = _FILE_DATABASE.match(spec.url)
        if match and match["path"] not in ("", ":memory:") and not _from_environment(match["path"]):
            database = Path(match["path"])
            if not database.is_file():
                return f"database file {database} does not exist"
    return None


def matches_no_file(source: BaseModel, dataset_path: str) -> bool:
    """True when a files dataset's glob finds nothing in its source's local folder (which exists)."""
    if not isinstance(source, FilesSource) or not _is_local(source.url):
        return False
    folder = Path(source.url.removeprefix("file://"))
    if not folder.is_dir():
        return False  # the source's own warning says so
    pattern = str(folder / dataset_path.lstrip("/"))
    return not any(Path(p).is_file() for p in glob.iglob(pattern, recursive=True))


def _is_relative(path: str) -> bool:
    return bool(path) and "://" not in path and not _from_environment(path) and not Path(path).is_absolute()


def _is_local(url: str) -> bool:
    return not _from_environment(url) and ("://" not in url or url.startswith("file://"))


def _from_environment(value: str) -> bool:
    return "${env:" in value
