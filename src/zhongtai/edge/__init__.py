"""The edge runtime: a capability exported as a bundle (`zhongtai export bundle`), deciding in process.

This package needs numpy (and lightgbm for LightGBM models) and nothing else: no metadata store, lake,
gateway, pydantic or SQL engine. It imports nothing of Zhongtai but its own modules (relative imports only),
so the folder can be copied anywhere, under any name (a bundle carries a copy as `zhongtai_edge/`).

    from zhongtai_edge import load_bundle
    bundle = load_bundle("churn-risk-bundle")        # every file checked against the manifest's SHA-256
    bundle.decide({"customer_id": "C00042"})          # the gateway's answer, from the bundle's snapshot
"""

from .bundle import Bundle, load_bundle
from .errors import EdgeError
from .updates import UpdateStatus, check_for_update

__all__ = ["Bundle", "EdgeError", "UpdateStatus", "check_for_update", "load_bundle"]
