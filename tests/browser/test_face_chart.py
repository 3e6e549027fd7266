"""The face diagram of the injection map: an injector charts a session by clicking on the face,
sets the units in the table, saves; the saved table and diagram agree; the next session's form
repeats the same points."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, login, screenshot
from tests.factories import PatientFactory
from tests.treatments.factories import ToxinLotFactory
from treatments.models import Encounter

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _click_region(page, muscle: str, side: str, at=(0.5, 0.5)) -> tuple[float, float]:
    """Click a muscle's region on the diagram (``at``: where in its bounding box); return the
    click as a normalised point of the drawing."""
    region = page.locator(f"svg [data-region][data-muscle={muscle}][data-side={side}]")
    region.scroll_into_view_if_needed()
    box = region.bounding_box()
    svg = page.locator(".face-diagram-editable svg").bounding_box()
    x, y = box["x"] + box["width"] * at[0], box["y"] + box["height"] * at[1]
    page.mouse.click(x, y)
    return (x - svg["x"]) / svg["width"], (y - svg["y"]) / svg["height"]


def _marker_points(page) -> list[tuple[str, str, str]]:
    return [
        tuple(point)
        for point in page.locator("[data-markers] [data-marker]").evaluate_all(
            "(els) => els.map((el) => [el.dataset.muscle, el.dataset.side, el.querySelector('text').textContent])"
        )
    ]


def test_injector_charts_a_session_on_the_face_and_repeats_it_next_time(page, clinic):
    injector = clinic.injector.user
    patient = PatientFactory(first_name="Aoife", last_name="Byrne", affected_side="left")
    lot = ToxinLotFactory(lot_number="F-1")
    login(page, injector)

    page.goto(f"{page.base}/clinical/toxin/new/?patient={patient.pk}")
    page.get_by_label("Product", exact=True).select_option(lot.product)
    page.get_by_label("Lot").select_option(value=str(lot.pk))
    page.get_by_label("Saline per vial (mL)").fill("2.5")
    # The affected side (from the patient's record) is shaded on the diagram.
    expect(page.locator('[data-affected-half="left"]')).to_be_visible()
    expect(page.locator('[data-affected-half="right"]')).to_be_hidden()

    # Two clicks on the face: each adds its row, and the cursor lands in the row's units.
    dao = _click_region(page, "depressor_anguli_oris", "left")
    expect(page.locator("[name=injections-0-muscle]")).to_have_value("depressor_anguli_oris")
    expect(page.locator("[name=injections-0-side]")).to_have_value("left")
    expect(page.locator("[name=injections-0-units]")).to_be_focused()
    page.keyboard.type("4")
    orbital = _click_region(page, "orbicularis_oculi_orbital", "left", at=(0.5, 0.1))
    expect(page.locator("[name=injections-1-muscle]")).to_have_value("orbicularis_oculi_orbital")
    page.locator("[name=injections-1-units]").fill("2.5")
    page.locator("[name=injections-1-points]").fill("2")
    # The table's units show on the points.
    expect(page.locator("[data-markers] [data-marker]")).to_have_count(2)
    assert sorted(_marker_points(page)) == [
        ("depressor_anguli_oris", "left", "4 U"),
        ("orbicularis_oculi_orbital", "left", "2.5 U \u00d72"),
    ]

    # Keyboard: Enter on a region adds its row; removing the row in the table removes its point.
    page.locator('[data-region][data-muscle="mentalis"][data-side="right"]').focus()
    page.keyboard.press("Enter")
    expect(page.locator("[name=injections-2-muscle]")).to_have_value("mentalis")
    expect(page.locator("[data-markers] [data-marker]")).to_have_count(3)
    page.locator("[data-formset-row]").nth(2).get_by_role("button", name="Remove").click()
    expect(page.locator("[data-markers] [data-marker]")).to_have_count(2)
    screenshot(page, "toxin-face-diagram")
    assert_accessible(page)

    page.get_by_role("button", name="Save draft").click()
    page.get_by_text("saved as a draft").wait_for()

    session = Encounter.objects.get(patient=patient, kind="toxin").toxin_session
    rows = {row.muscle: row for row in session.injections.all()}
    assert set(rows) == {"depressor_anguli_oris", "orbicularis_oculi_orbital"}
    for muscle, (x, y) in {"depressor_anguli_oris": dao, "orbicularis_oculi_orbital": orbital}.items():
        assert rows[muscle].side == "left"
        assert abs(float(rows[muscle].diagram_x) - x) < 0.01, muscle
        assert abs(float(rows[muscle].diagram_y) - y) < 0.01, muscle
    assert str(rows["depressor_anguli_oris"].units) == "4.00"

    # The saved record: as many points on the diagram as rows in the table, at the saved places.
    table_rows = page.locator("[data-injection-table] tbody tr")
    markers = page.locator(".face-diagram [data-markers] [data-marker]")
    expect(table_rows).to_have_count(2)
    expect(markers).to_have_count(2)
    assert sorted(_marker_points(page)) == [
        ("depressor_anguli_oris", "left", "4 U"),
        ("orbicularis_oculi_orbital", "left", "2.5 U \u00d72"),
    ]
    page.locator(".face-diagram svg").scroll_into_view_if_needed()
    svg = page.locator(".face-diagram svg").bounding_box()
    for muscle, row in rows.items():
        box = page.locator(f'.face-diagram [data-marker][data-muscle="{muscle}"] circle').bounding_box()
        cx = (box["x"] + box["width"] / 2 - svg["x"]) / svg["width"]
        cy = (box["y"] + box["height"] / 2 - svg["y"]) / svg["height"]
        assert abs(cx - float(row.diagram_x)) < 0.01 and abs(cy - float(row.diagram_y)) < 0.01, muscle
    assert_accessible(page)
    # Printed, the record keeps the table and the diagram side by side.
    page.emulate_media(media="print")
    expect(page.locator("[data-injection-table]")).to_be_visible()
    expect(page.locator(".face-diagram svg")).to_be_visible()
    table_box = page.locator("[data-injection-table]").bounding_box()
    diagram_box = page.locator(".face-diagram svg").bounding_box()
    assert diagram_box["x"] >= table_box["x"] + table_box["width"] - 1  # beside, not below
    screenshot(page, "toxin-face-diagram-print")
    page.emulate_media(media="screen")

    # The next session's form: the last points show faintly; "Repeat last map" copies the rows.
    page.goto(f"{page.base}/clinical/toxin/new/?patient={patient.pk}")
    expect(page.locator("[data-ghosts] .face-ghost")).to_have_count(2)
    expect(page.locator("[data-markers] [data-marker]")).to_have_count(0)
    page.get_by_role("link", name="Repeat last map").click()
    expect(page.locator("[data-markers] [data-marker]")).to_have_count(2)
    assert sorted(_marker_points(page)) == [
        ("depressor_anguli_oris", "left", "4 U"),
        ("orbicularis_oculi_orbital", "left", "2.5 U \u00d72"),
    ]
    for index in range(2):
        muscle = page.locator(f"[name=injections-{index}-muscle]").input_value()
        assert page.locator(f"[name=injections-{index}-diagram_x]").input_value() == str(
            rows[muscle].diagram_x
        )
        assert page.locator(f"[name=injections-{index}-diagram_y]").input_value() == str(
            rows[muscle].diagram_y
        )
