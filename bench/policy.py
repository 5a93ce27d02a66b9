"""Benchmark the policy engine: the cost of one check, first time (compiled-table lookups) and repeated
(memoized), for the retail project's policy grown to R rules, and the cost of a token-bucket take.

    python bench/policy.py [--rules 1000] [--checks 200000]

The last line is one JSON object (nanoseconds per operation).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from zhongtai.govern.limits import Limits, MemoryBuckets
from zhongtai.govern.policy import PolicyEngine
from zhongtai.govern.principal import Principal
from zhongtai.scenarios.retail.project import policy_document
from zhongtai.spec.policy import PolicySpec


def _engine(extra_rules: int) -> PolicyEngine:
    policy = policy_document()
    policy["rules"] = policy["rules"] + [
        {"name": f"team_{i}", "principals": [f"role:team_{i}"], "actions": ["call"], "objects": [f"cap_{i}"]}
        for i in range(extra_rules)
    ]
    policy["limits"] = policy["limits"] + [{"name": "apps", "principals": ["role:app"], "per_minute": 1e9}]
    return PolicyEngine([PolicySpec.model_validate(policy)])


def _per_op_ns(operation, count: int) -> float:
    started = time.perf_counter_ns()
    for index in range(count):
        operation(index)
    return (time.perf_counter_ns() - started) / count


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rules", type=int, default=1000, help="extra rules beside the retail policy's")
    parser.add_argument("--checks", type=int, default=200_000)
    args = parser.parse_args()
    engine = _engine(args.rules)
    app = Principal("crm-app", ("app",))
    marketing = Principal("campaigns", ("analyst",), workspace="marketing")
    # First checks: every one a new (principal, object) pair, so each goes through the compiled table.
    fresh = [Principal(f"key-{i}", ("analyst",), workspace="marketing") for i in range(args.checks)]
    first_ns = _per_op_ns(lambda i: engine.check(fresh[i], "call", "churn-risk"), args.checks)
    denied_ns = _per_op_ns(lambda i: engine.check(fresh[i], "read_dataset", "crm_customers"), args.checks)
    repeated_ns = _per_op_ns(lambda i: engine.check(app, "call", "churn-risk"), args.checks)
    repeated_ws_ns = _per_op_ns(lambda i: engine.check(marketing, "call", "churn-risk"), args.checks)
    limits = Limits(MemoryBuckets())

    async def takes(count: int) -> float:
        started = time.perf_counter_ns()
        for _ in range(count):
            await limits.take(engine, app)
        return (time.perf_counter_ns() - started) / count

    take_ns = asyncio.run(takes(args.checks))
    # A calibration on the same (shared, busy) machine: one lookup in a small dict keyed by a tuple.
    table = {("call", f"role:{i}", "*"): i for i in range(100)}
    dict_ns = _per_op_ns(lambda i: table.get(("call", "role:7", "*")), args.checks)
    figures = {
        "plain_dict_lookup_ns": round(dict_ns),
        "rules": len(engine._allow) + len(engine._deny),
        "first_check_allow_ns": round(first_ns),
        "first_check_deny_ns": round(denied_ns),
        "repeated_check_ns": round(repeated_ns),
        "repeated_workspace_check_ns": round(repeated_ws_ns),
        "bucket_take_in_memory_ns": round(take_ns),
    }
    for name, value in figures.items():
        print(f"{name:32} {value:>10,}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
