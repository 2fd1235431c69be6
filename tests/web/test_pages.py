"""Public pages show the protocol's facts, not typed-in ones."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from radiotrial.nuclides import get_nuclide
from radiotrial.protocol import bundled_protocol
from radiotrial.web import MemoryBackend, create_app

from .conftest import settings


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_facts_come_from_the_protocol(client: TestClient) -> None:
    p = bundled_protocol()
    en = _text(client.get("/en/taking-part").text)
    cycles = int(p.treatment.max_cycles.value)
    weeks = p.treatment.cycle_interval.to("week")
    assert f"up to {cycles} cycles, about {weeks:g} weeks apart" in en
    for test in p.screening_tests:
        assert test.name in en
        assert f"{test.window.to('d'):g} days before enrolment" in en
    for hours in p.imaging_schedule.timepoints_h:
        assert f"{hours:g} hours" in en
    treatment = _text(client.get("/en/treatment").text)
    levels = p.dose_levels.activity_gbq
    assert f"({levels[0]:g} GBq)" in treatment
    assert f"up to {levels[-1]:g} GBq" in treatment
    # half-life from ICRP-107 (6.647 d), shown to one decimal
    assert f"every {get_nuclide('Lu-177').half_life('d'):.1f} days" in treatment
    contact = client.get("/en/contact").text
    for c in p.contacts:
        assert f'href="mailto:{c.email}"' in contact
    privacy = _text(client.get("/zh/privacy").text)
    assert f"{p.retention.prescreen_contact_data.to('d'):g}天" in privacy


def test_a_changed_protocol_changes_the_pages() -> None:
    p = bundled_protocol()
    changed = p.model_copy(
        update={
            "free_of_charge": False,
            "expatriates_eligible": False,
            "treatment": p.treatment.model_copy(
                update={
                    "max_cycles": p.treatment.max_cycles.model_copy(update={"value": 6}),
                }
            ),
        }
    )
    app = create_app(settings(), backend=MemoryBackend(), protocol=changed)
    with TestClient(app) as c:
        home = c.get("/en/").text
        assert "Free of charge" not in home
        assert "Expatriates welcome" not in home
        assert "up to 6 cycles" in _text(c.get("/en/taking-part").text)


def test_unknown_language_and_page_are_404_without_internals(client: TestClient) -> None:
    for path in ("/fr/", "/en/nothing-here", "/zh/../etc/passwd", "/en/prescreening/x"):
        r = client.get(path)
        assert r.status_code == 404, path
        assert "Traceback" not in r.text
    assert "此页面不存在" in client.get("/zh/nothing").text


def test_health_and_static(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    css = client.get("/static/style.css")
    assert css.status_code == 200
    assert "text/css" in css.headers["content-type"]


def test_criteria_safety_advice_and_site_clock_come_from_the_protocol() -> None:
    from radiotrial.protocol import PatientText

    p = bundled_protocol()
    en_default = create_app(settings(), backend=MemoryBackend(), protocol=p)
    with TestClient(en_default) as c:
        who = _text(c.get("/en/who-can-join").text)
        for item in p.plain_criteria("inclusion") + p.plain_criteria("exclusion"):
            assert item.en in who
        age = next(c for c in p.eligibility.inclusion if c.id == "I-AGE").threshold
        assert f"are at least {age:g} years old" in who  # the criterion's own number
        zh = _text(c.get("/zh/taking-part").text)
        for advice in p.patient_information.radiation_safety:
            assert advice.zh in zh
        assert p.radiopharmaceutical.ligand_name in _text(c.get("/en/treatment").text)
        assert p.patient_information.condition.zh in _text(c.get("/zh/").text)
    info = p.patient_information.model_copy(
        update={
            "condition": PatientText(en="advanced breast cancer", zh="晚期乳腺癌"),
            "radiation_safety": [
                p.patient_information.radiation_safety[0].model_copy(
                    update={"en": "Keep your distance for 9 days.", "zh": "请保持距离9天。"}
                )
            ],
        }
    )
    changed = p.model_copy(
        update={
            "patient_information": info,
            "site": p.site.model_copy(update={"time_zone": "Europe/Zurich"}),
            "radiopharmaceutical": p.radiopharmaceutical.model_copy(
                update={"ligand_name": "LigandX"}
            ),
        }
    )
    with TestClient(create_app(settings(), backend=MemoryBackend(), protocol=changed)) as c:
        assert "people with advanced breast cancer" in _text(c.get("/en/").text)
        taking_part = _text(c.get("/en/taking-part").text)
        assert "Keep your distance for 9 days." in taking_part
        assert "sleep alone" not in taking_part
        treatment = c.get("/en/treatment").text
        assert "LigandX" in treatment and "NeoB," not in treatment
        form = c.get("/en/prescreening").text
        assert '<option selected value="Europe/Zurich">' in form  # the site's zone first
