from datetime import date
from urllib.parse import quote_plus, urlencode

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.dateformat import format as date_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from scheduling import clock
from scheduling.models import Appointment

register = template.Library()

# The patients app names its chart page; the first of these that exists is used.
CHART_URL_NAMES = ("patients:chart", "patients:detail")

STATUS_BADGE = {
    "booked": "badge-info",
    "confirmed": "badge-ok",
    "checked_in": "badge-warn",
    "completed": "",
    "cancelled": "badge-danger",
    "no_show": "badge-danger",
}


@register.filter
def patient_url(patient) -> str:
    for name in CHART_URL_NAMES:
        try:
            return reverse(name, args=[patient.pk])
        except NoReverseMatch:
            continue
    return ""


@register.filter
def status_badge(status: str) -> str:
    return STATUS_BADGE.get(status, "")


@register.simple_tag
def book_url(start=None, provider=None, room=None, appointment_type=None, patient=None) -> str:
    """The booking dialog's address with the slot's details filled in."""
    params = {
        "start": start.isoformat() if start else "",
        "provider": getattr(provider, "pk", provider) or "",
        "room": getattr(room, "pk", room) or "",
        "appointment_type": getattr(appointment_type, "pk", appointment_type) or "",
        "patient": getattr(patient, "pk", patient) or "",
    }
    return f"{reverse('scheduling:book')}?{urlencode({k: v for k, v in params.items() if v})}"


# --- calendar grid -----------------------------------------------------------------------------
#
# The grid's body is built here in Python rather than in _grid.html: a day of a clinic group has
# thousands of cells, and per cell template variables, filters (dates converted to the clinic's
# zone) and a reverse() for each free slot's booking link made the page slow. What is the same
# across a row (the slot's times and labels) is worked out once per row and date, what is the
# same down a column (its label and id) once per column, and links are formatted from one
# reverse() per page. The HTML is what the template wrote (classes, data attributes, links and
# screen-reader text that scheduling.js, the browser tests and assistive technology rely on).

STATUS_LABELS = {value: escape(label) for value, label in Appointment.Status.choices}
_PK = 2147483647  # stands in for an id in a reversed URL, then replaced


def url_maker(name: str, arg: str = "pk"):
    """``id -> URL`` for a route taking one id (named ``arg``), from a single reverse()."""
    before, after = reverse(name, kwargs={arg: _PK}).split(str(_PK))
    return lambda pk: f"{before}{pk}{after}"


class _Row:
    """One quarter hour on one date: what every free cell of that row shows."""

    __slots__ = ("label", "query", "start")

    def __init__(self, start, day_label: str):
        local = clock.local(start)
        self.start = local.isoformat()  # data-start: the clinic's wall clock and offset
        self.label = f"{day_label} at {local:%H:%M}"
        self.query = quote_plus(start.isoformat())  # the booking link's start, as urlencode wrote it


def _rows_by_date(grid, days: set[date]) -> dict[date, list[_Row]]:
    by_date = {}
    for day in days:
        label = escape(date_format(day, "D j M"))
        by_date[day] = [_Row(clock.at(day, wall), label) for wall in grid.rows]
    return by_date


def _appointment_cell(cell, mode: str, urls: dict) -> str:
    links = []
    for a in cell.appointments:
        begin, end = clock.local(a.starts_at), clock.local(a.ends_at)
        movable = a.status in ("booked", "confirmed")
        move = f' draggable="true" data-move="{urls["move"](a.pk)}"' if movable else ""
        where = f" · {escape(a.room.name)}" if mode in ("providers", "week") else f" · {escape(a.provider)}"
        links.append(
            f'<a class="appt st-{escape(a.status)}" href="{urls["detail"](a.pk)}"'
            f' data-colour="{escape(a.appointment_type.colour)}"{move}>'
            f'<span class="appt-time">{begin:%H:%M}\u2013{end:%H:%M}</span> '
            f'<span class="appt-patient">{escape(a.patient.display_name)}</span> '
            f'<span class="appt-type">{escape(a.appointment_type.name)}{where}</span> '
            f'<span class="badge {STATUS_BADGE.get(a.status, "")}">{STATUS_LABELS.get(a.status, "")}</span>'
            "</a>"
        )
    return f'<td rowspan="{cell.rowspan}" class="cal-appt">{"".join(links)}</td>'


@register.simple_tag
def calendar_rows(grid, mode: str) -> SafeString:
    """The ``<tr>`` rows of a calendar grid's body (see calendar.Grid)."""
    urls = {
        "book": escape(reverse("scheduling:book")),
        "detail": url_maker("scheduling:appointment"),
        "move": url_maker("scheduling:appointment_reschedule"),
    }
    by_date = _rows_by_date(grid, {column.day for column in grid.columns})
    columns = []
    for column in grid.columns:
        provider = column.provider.pk if column.provider is not None else ""
        room = column.room.pk if column.room is not None else ""
        ids = "".join(f"&amp;{k}={v}" for k, v in (("provider", provider), ("room", room)) if v)
        data = f'data-provider="{provider}" data-room="{room}"'
        # Whom a free slot books: the provider (day and week views) or the room.
        who = escape(column.provider if column.provider is not None else column.label)
        columns.append((column.cells, by_date[column.day], who, ids, data))
    out = []
    for i, wall in enumerate(grid.rows):
        time = f"{wall:%H:%M}"
        head = time if wall.minute == 0 or i == 0 else f'<span class="sr-only">{time}</span>'
        out.append('<tr class="hour">' if wall.minute == 0 else "<tr>")
        out.append(f'<th scope="row" class="cal-time">{head}</th>')
        for cells, rows, label, ids, data in columns:
            cell = cells.get(i)
            if cell is None:  # covered by an appointment above
                continue
            kind = cell.kind
            if kind == "free":
                row = rows[i]
                url = f"{urls['book']}?start={row.query}{ids}"
                out.append(
                    f'<td class="cal-free" data-start="{row.start}" {data}>'
                    f'<a class="slot" href="{url}" hx-get="{url}" hx-target="#dialog-body"'
                    f' hx-indicator="#grid-spinner">'
                    f'<span class="sr-only">Book {label}, {row.label}</span></a></td>'
                )
            elif kind == "appointment":
                out.append(_appointment_cell(cell, mode, urls))
            elif kind == "off":
                out.append('<td class="cal-off"><span class="sr-only">Away</span></td>')
            elif kind == "buffer":
                out.append('<td class="cal-buffer"><span class="sr-only">Buffer</span></td>')
            else:
                out.append(f'<td class="cal-{kind}"></td>')
        out.append("</tr>\n")
    return mark_safe("".join(out))  # noqa: S308 - every value above is escaped or generated here
