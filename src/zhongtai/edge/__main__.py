"""`python -m zhongtai.edge` (or `python -m zhongtai_edge` where only the bundled runtime is installed):
verify a bundle, decide from it, ask a gateway for a newer version.

    python -m zhongtai.edge verify BUNDLE
    python -m zhongtai.edge decide BUNDLE '{"customer_id": "C00042"}' [--views '{"view": {...}}']
    python -m zhongtai.edge check BUNDLE --gateway URL [--key KEY]   (or ZT_API_KEY)

Answers are JSON on stdout; an error is one line `error: ...` (and a hint) on stderr with exit code 1.
`check` exits 0 when the bundle is up to date and 3 when a newer version is available.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from .bundle import load_bundle
from .errors import EdgeError
from .updates import check_for_update

NEWER_EXIT = 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zhongtai_edge", description="Decide from an exported capability bundle."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser("verify", help="Check every file of the bundle against its manifest.")
    verify.add_argument("bundle")
    decide = commands.add_parser("decide", help="Answer one request (JSON) as the gateway would.")
    decide.add_argument("bundle")
    decide.add_argument("request", help='the request body, e.g. \'{"customer_id": "C00042"}\'')
    decide.add_argument("--views", help="the entity's feature values by view (JSON); default: the snapshot")
    check = commands.add_parser("check", help="Ask a gateway whether a newer version serves.")
    check.add_argument("bundle")
    check.add_argument("--gateway", required=True, help="the gateway's base URL, e.g. http://10.0.0.5:8000")
    check.add_argument("--key", help="an API key that may call the capability (default: $ZT_API_KEY)")
    return parser


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        raise EdgeError("invalid_json", f"{what} is not JSON") from None
    if not isinstance(value, dict):
        raise EdgeError("invalid_argument", f"{what} must be a JSON object")
    return value


def run(argv: list[str]) -> int:
    """Run one command; returns the exit code."""
    args = _parser().parse_args(argv)
    bundle = load_bundle(args.bundle)
    if args.command == "verify":
        files = len(bundle.manifest["files"])
        print(
            f"{bundle.name}: {files} files match the manifest ({bundle.model_name} v{bundle.model_version})"
        )
        return 0
    if args.command == "decide":
        views = _json_object(args.views, "--views") if args.views else None
        answer = bundle.decide(_json_object(args.request, "the request"), views)
        print(json.dumps(answer, ensure_ascii=False, indent=2))
        return 0
    key = args.key or os.environ.get("ZT_API_KEY")
    if not key:
        raise EdgeError("invalid_argument", "no API key: pass --key or set ZT_API_KEY")
    status = check_for_update(args.gateway, key, bundle.name, bundle.arm, bundle.model_version)
    print(status.describe())
    return NEWER_EXIT if status.newer else 0


def main() -> None:
    """Entry point: errors are one line and exit code 1, never a traceback."""
    try:
        code = run(sys.argv[1:])
    except EdgeError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        code = 1
    sys.exit(code)


if __name__ == "__main__":
    main()
