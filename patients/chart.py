"""The patient chart is assembled from panels that other apps contribute.

The chart page lives here, in the lowest app that knows patients, but most of what it shows
(appointments, encounters, gradings, messages) belongs to higher apps. They register a panel
in their AppConfig.ready(); this module never imports them.

The chart page itself carries the patient's header, alerts, contact details and consents; each
panel is its own request (``patients:chart_panel``), made by htmx when the panel scrolls into
view, so the page is on screen before the slower panels are read. ``?panels=all`` renders
every panel inline (printing, and browsers without JavaScript).

    register_panel(ChartPanel(
        key="encounters", title="Encounters", template="treatments/chart/encounters.html",
        context=lambda *, patient, user: {"encounters": encounters_for_chart(patient=patient)},
        permission="clinic.view_clinical", order=20,
    ))
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ChartPanel:
    key: str
    title: str
    template: str
    # Called with keyword arguments patient= and user=; returns the template's context.
    context: Callable[..., dict]
    permission: str = "clinic.view_demographics"
    order: int = 100


_panels: dict[str, ChartPanel] = {}


def register_panel(panel: ChartPanel) -> None:
    _panels[panel.key] = panel


def panel_keys() -> list[str]:
    """Every registered panel, in display order."""
    return [p.key for p in sorted(_panels.values(), key=lambda p: (p.order, p.key))]


def panel_for(user, key: str) -> ChartPanel | None:
    """The panel ``key`` if it exists and this user may see it."""
    panel = _panels.get(key)
    return panel if panel is not None and _may_see(user, panel) else None


def panels_for(user) -> list[ChartPanel]:
    """The panels this user may see, in display order."""
    return sorted((p for p in _panels.values() if _may_see(user, p)), key=lambda p: (p.order, p.key))


def _may_see(user, panel: ChartPanel) -> bool:
    return user.has_perm(panel.permission)
