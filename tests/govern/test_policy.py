"""The policy engine: default deny, deny over allow, the built-in admin, workspaces, scopes, named rules;
the `policies` spec kind: file:line:field errors, the admin lockout refused, plan and apply."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from zhongtai.errors import ZhongtaiError
from zhongtai.govern.policy import BUILTIN_ADMIN, DEFAULT_DENY, PolicyEngine, specs_of
from zhongtai.govern.principal import Principal
from zhongtai.meta.store import MetadataStore
from zhongtai.spec.plan import apply_plan, build_plan
from zhongtai.spec.policy import PolicySpec
from zhongtai.spec.project import SpecErrors, load_project

POLICY = """\
policies:
  - name: retail
    workspaces:
      - name: crm
        capabilities: [churn-risk]
        datasets: [crm_*]
        feature_groups: [crm_signals]
      - name: shared
        feature_groups: [person_profile]
    rules:
      - name: apps
        principals: ["role:app"]
        actions: [call]
      - name: marketing_churn
        principals: ["workspace:marketing"]
        actions: [call]
        objects: [churn-risk]
      - name: marketing_shared
        principals: ["workspace:marketing"]
        actions: [read_catalog]
        objects: ["workspace:shared"]
      - name: stewards
        principals: ["role:steward"]
        actions: [read_dataset, "see_pii:*"]
      - name: analysts
        principals: ["role:analyst"]
        actions: [read_dataset, "see_pii:email"]
      - name: interns_no_crm
        principals: ["role:intern"]
        actions: ["*"]
        objects: ["workspace:crm"]
        effect: deny
      - name: interns_read
        principals: ["role:intern"]
        actions: [read_dataset]
      - name: bpm_key
        principals: ["key:bpm"]
        actions: [call]
        objects: [intent]
    limits:
      - {name: marketing_quota, principals: ["workspace:marketing"], per_minute: 60, shared_by: workspace}
"""


def _engine(text: str = POLICY) -> PolicyEngine:
    return PolicyEngine(PolicySpec.model_validate(p) for p in yaml.safe_load(text)["policies"])


def _project(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "p"
    folder.mkdir(exist_ok=True)
    (folder / "policies.yaml").write_text(text)
    return folder


def test_nothing_is_allowed_without_a_rule_and_the_deny_says_so():
    verdict = _engine().check(Principal("nogrant", ("caller",)), "call", "churn-risk")
    assert not verdict.allowed
    assert verdict.rule == DEFAULT_DENY
    assert verdict.message == (
        "API key 'nogrant' may not call capability 'churn-risk': no rule grants it "
        "(role caller is not named by any policy)"
    )
    with pytest.raises(ZhongtaiError, match="may not call capability 'churn-risk'") as denied:
        _engine().require(Principal("nogrant", ("caller",)), "call", "churn-risk")
    assert denied.value.http_status == 403


def test_every_allow_names_its_rule():
    engine = _engine()
    assert engine.check(Principal("crm", ("app",)), "call", "intent").rule == "retail.apps"
    assert engine.check(Principal("bpm", ()), "call", "intent").rule == "retail.bpm_key"
    assert not engine.check(Principal("bpm", ()), "call", "churn-risk").allowed
    admin = engine.check(Principal("root", ("admin",)), "manage_grants")
    assert (admin.allowed, admin.rule) == (True, BUILTIN_ADMIN)


def test_a_workspace_is_granted_across_workspaces_only_what_a_rule_names():
    engine = _engine()
    marketing = Principal("campaigns", ("analyst",), workspace="marketing")
    assert engine.check(marketing, "call", "churn-risk").allowed
    assert not engine.check(marketing, "call", "intent").allowed
    assert engine.check(marketing, "read_catalog", "person_profile", "feature_groups").allowed
    assert not engine.check(marketing, "read_catalog", "crm_signals", "feature_groups").allowed
    assert engine.workspace_of("datasets", "crm_customers") == "crm"
    assert engine.workspace_of("datasets", "erp_orders") is None


def test_deny_wins_over_allow_and_names_its_rule():
    engine = _engine()
    intern = Principal("summer", ("intern",))
    assert engine.check(intern, "read_dataset", "erp_orders").allowed
    verdict = engine.check(intern, "read_dataset", "crm_customers")
    assert (verdict.allowed, verdict.rule) == (False, "retail.interns_no_crm")
    assert "denied by rule retail.interns_no_crm" in verdict.message


def test_pii_classes_are_granted_one_by_one_or_all_at_once():
    engine = _engine()
    steward, analyst = Principal("s", ("steward",)), Principal("a", ("analyst",))
    assert engine.check(steward, "see_pii:phone", "crm_customers").allowed
    assert engine.check(analyst, "see_pii:email", "crm_customers").allowed
    assert not engine.check(analyst, "see_pii:phone", "crm_customers").allowed


def test_a_keys_scopes_narrow_what_its_roles_allow():
    engine = _engine()
    scoped = Principal("ops", ("admin",), scopes=("call",))
    assert engine.check(scoped, "call", "churn-risk").allowed
    verdict = engine.check(scoped, "manage_keys")
    assert (verdict.allowed, verdict.rule) == (False, "key-scopes")


def test_may_ever_answers_whether_a_listing_shows_anything():
    engine = _engine()
    assert engine.may_ever(Principal("m", (), workspace="marketing"), "call").allowed
    assert not engine.may_ever(Principal("m", (), workspace="marketing"), "read_models").allowed
    assert not engine.may_ever(Principal("summer", ("intern",)), "read_audit").allowed


def test_limits_apply_to_the_principals_they_name_with_one_bucket_per_workspace():
    engine = _engine()
    [bucket] = engine.buckets(Principal("a", (), workspace="marketing"))
    assert (bucket.id, bucket.rate, bucket.burst) == ("retail.marketing_quota:workspace:marketing", 1.0, 60.0)
    assert engine.buckets(Principal("a", (), workspace="crm")) == ()


def test_malformed_rules_are_errors_at_their_file_line_and_field(tmp_path):
    text = POLICY.replace("actions: [read_catalog]", "actions: [read_catalgo]").replace(
        '["key:bpm"]', '["team:bpm"]'
    )
    with pytest.raises(SpecErrors) as failed:
        load_project(_project(tmp_path, text))
    where = tmp_path / "p" / "policies.yaml"
    action, principal = failed.value.problems
    assert action.startswith(
        f"{where}:20 policies.retail.rules.marketing_shared.actions.0: unknown action 'read_catalgo': give one of"
    )
    assert principal.startswith(f"{where}:37 policies.retail.rules.bpm_key.principals.0: 'team:bpm' is not a")


def test_a_policy_that_locks_every_admin_out_is_refused(tmp_path):
    text = (
        POLICY
        + """\
  - name: lockdown
    rules:
      - {name: nobody_grants, principals: ["*"], actions: [manage_grants], effect: deny}
"""
    )
    with pytest.raises(SpecErrors) as failed:
        load_project(_project(tmp_path, text))
    [problem] = failed.value.problems
    assert problem == (
        f"{tmp_path / 'p' / 'policies.yaml'}:44 policies.lockdown.rules.nobody_grants: denies manage_grants "
        "to the admin role, so no principal could change policies again; narrow its principals or actions"
    )


def test_policies_plan_and_apply_like_every_kind(tmp_path):
    store = MetadataStore(f"sqlite:///{tmp_path / 'metadata.db'}")
    try:
        project = load_project(_project(tmp_path, POLICY))
        plan = build_plan(project, store)
        assert [(s.kind, s.action, s.name) for s in plan.steps] == [("policies", "create", "retail")]
        apply_plan(plan, store)
        assert [p.name for p in specs_of(store)] == ["retail"]
        assert build_plan(load_project(_project(tmp_path, POLICY)), store).empty
    finally:
        store.close()


def test_the_retail_policy_lets_marketing_call_churn_risk_but_not_intent_nor_read_crm_tables():
    from zhongtai.scenarios.retail.project import APP_ROLE, policy_document

    engine = PolicyEngine([PolicySpec.model_validate(policy_document())])
    marketing = Principal("campaigns", ("analyst",), workspace="marketing")
    assert engine.check(marketing, "call", "churn-risk").rule == "retail_access.marketing_churn"
    assert not engine.check(marketing, "call", "intent").allowed
    assert engine.check(marketing, "read_features", "person_profile", "feature_groups").allowed
    assert engine.check(marketing, "read_dataset", "erp_orders").allowed  # analysts read, unmasked PII aside
    walled = engine.check(marketing, "read_dataset", "crm_customers")
    assert (walled.allowed, walled.rule) == (False, "retail_access.crm_wall")
    assert not engine.check(marketing, "see_pii:phone", "crm_customers").allowed
    assert engine.check(Principal("steward", ("steward",)), "see_pii:phone", "crm_customers").allowed
    assert engine.check(Principal("demo", (APP_ROLE,)), "call", "intent").allowed
    assert not engine.check(Principal("nogrant", ("caller",)), "call", "churn-risk").allowed
