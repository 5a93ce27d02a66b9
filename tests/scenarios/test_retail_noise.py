"""The pieces that make records messy, and the URLs the project is written with."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from zhongtai.errors import ZhongtaiError
from zhongtai.scenarios.retail.calendar import build_calendar
from zhongtai.scenarios.retail.generate import DEFAULT_TODAY
from zhongtai.scenarios.retail.noise import PHONE_FORMATS, full_width, render_names
from zhongtai.scenarios.retail.people import make_people
from zhongtai.scenarios.retail.project import write_project
from zhongtai.scenarios.retail.sql_homes import driver_url, spec_url
from zhongtai.spec.project import load_project

pytestmark = pytest.mark.unit


def test_phone_formats() -> None:
    written = {
        name: format_(number, 12345) for name, format_ in PHONE_FORMATS.items() for number in ["13812345678"]
    }
    assert written["plus86_spaced"] == "+86 138 1234 5678"
    assert written["0086_dashed"] == "0086-138-1234-5678"
    assert written["fullwidth"] == "１３８１２３４５６７８"
    assert written["typo"] != "13812345678" and len(written["typo"]) == 11


def test_full_width() -> None:
    assert full_width("Wang@qq.com 1") == "Ｗａｎｇ＠ｑｑ．ｃｏｍ\u3000１"


def test_id_numbers_carry_birth_date_sex_and_check_digit() -> None:
    people = make_people(np.random.default_rng(1), 500, 730, 2026)
    weights = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
    for number, gender, born in zip(people.id_number, people.gender, people.birth, strict=True):
        if not number:
            continue
        assert "10X98765432"[int(np.dot([int(d) for d in number[:17]], weights)) % 11] == number[17]
        assert int(number[16]) % 2 == gender
        assert number[6:14] == str(born).replace("-", "")


def test_households_share_homes() -> None:
    people = make_people(np.random.default_rng(2), 2000, 730, 2026)
    relatives = np.flatnonzero(people.head != np.arange(people.n))
    assert 0.05 < len(relatives) / people.n < 0.3
    assert (people.home.road[relatives] == people.home.road[people.head[relatives]]).all()
    assert len(set(people.phone)) == people.n


def test_names_come_out_in_many_styles() -> None:
    people = make_people(np.random.default_rng(3), 300, 730, 2026)
    persons = np.arange(people.n)
    styles = {"canonical": 1, "pinyin": 1, "title": 1, "traditional": 1, "typo": 1}
    names = render_names(people, persons, styles, np.random.default_rng(4))
    assert any(n.endswith(("先生", "女士")) for n in names)
    assert any(n.isascii() and " " in n for n in names)
    assert len(set(names)) > 200


def test_calendar_peaks_on_double_11() -> None:
    calendar = build_calendar(DEFAULT_TODAY)
    (peak,) = calendar.peak_days("double11")[-1:]
    assert calendar.online[peak] > 3 * np.median(calendar.online)
    assert calendar.promo_level[peak] == 2


def test_urls_get_a_driver_and_lose_their_password() -> None:
    assert driver_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert driver_url("mysql://u@h/db") == "mysql+pymysql://u@h/db"
    assert spec_url("sqlite:////tmp/x.db", "V") == "sqlite:////tmp/x.db"
    assert (
        spec_url("postgresql://crm:s3cret@db:5432/crm", "V")
        == "postgresql+psycopg://crm:${env:V}@db:5432/crm"
    )
    with pytest.raises(ZhongtaiError, match="not a database URL"):
        driver_url("localhost:5432")


def test_project_with_a_server_password_needs_the_variable(tmp_path: Path) -> None:
    crm = spec_url("postgresql://crm:s3cret@db:5432/crm", "ZT_RETAIL_CRM_PASSWORD")
    write_project(tmp_path, crm, "sqlite:////tmp/erp.db", "test")
    assert "s3cret" not in (tmp_path / "sources.yaml").read_text()
    project = load_project(tmp_path, environ={"ZT_RETAIL_CRM_PASSWORD": "x"})
    assert project.sources["crm"].url == crm
    with pytest.raises(ZhongtaiError, match="environment variable ZT_RETAIL_CRM_PASSWORD is not set"):
        load_project(tmp_path, environ={})


def test_the_project_schedules_ingests_drift_retraining_and_escalation(tmp_path: Path) -> None:
    # Checked like every spec (each target declared as the kind its job works on): drift, the retrain
    # policies and the review queue's escalation run by themselves once a scheduler is on.
    write_project(tmp_path, "sqlite:////tmp/crm.db", "sqlite:////tmp/erp.db", "test")
    jobs = load_project(tmp_path).schedules
    assert {jobs[n].job for n in ("churn_drift", "retrain_policies", "review_escalation")} == {
        "drift",
        "flywheel",
        "review_escalate",
    }
    assert jobs["churn_drift"].target == "churn-risk" and jobs["churn_scores"].write_back
    assert {j.target for j in jobs.values() if j.job == "ingest"} >= {"crm_customers", "erp_orders"}
