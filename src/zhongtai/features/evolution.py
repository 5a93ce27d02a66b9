"""Schema evolution of feature views: what a build holds against what the spec now declares.

Adding a feature to a view changes nothing already built: old builds keep their columns, the online store
keeps serving the values it has, and the next build writes the new column. A training set or a
materialization that needs a feature an old build lacks (or holds with another type) stops with an error
that names the build and says to rebuild the view, rather than filling the column with NULLs a model would
learn from as if they were data.
"""

from __future__ import annotations

from zhongtai.errors import ZhongtaiError
from zhongtai.meta.records import FeatureBuild
from zhongtai.spec.models import FeatureViewSpec


def require_columns(view: FeatureViewSpec, build: FeatureBuild, purpose: str) -> None:
    """Raise unless `build` holds every feature `view` declares, with the declared type."""
    held = {column.name: column.type for column in build.schema}
    lacking = [f.name for f in view.features if f.name not in held]
    retyped = [
        f"{f.name} ({held[f.name]} in the build, {f.type} in the spec)"
        for f in view.features
        if f.name in held and held[f.name] not in (f.type, "null")
    ]
    if not lacking and not retyped:
        return
    problems = []
    if lacking:
        problems.append(f"lacks feature(s) {', '.join(lacking)}, declared after it was built")
    if retyped:
        problems.append(f"holds {', '.join(retyped)}")
    raise ZhongtaiError(
        "stale_build",
        f"{purpose}: build {build.build} of feature view '{view.name}' {'; '.join(problems)}",
        f"run `zhongtai features build {view.name}` (then materialize it) to write the new columns",
    )
