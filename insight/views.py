"""The clinic dashboard page (/clinical/dashboard/) and its CSV export. Managers (schedule
managers) see it: aggregates only, no patient is named."""

from django.http import HttpResponse
from django.shortcuts import render

from clinic import spreadsheet
from clinic.audit import audit_record
from clinic.views import capability_required

from . import dashboard

PERMISSION = "clinic.manage_schedule"


def _weeks(request) -> int:
    raw = request.GET.get("weeks", "")
    if raw.isdigit() and len(raw) < 4:
        return min(max(int(raw), dashboard.MIN_WEEKS), dashboard.MAX_WEEKS)
    return dashboard.DEFAULT_WEEKS


@capability_required(PERMISSION)
def clinic_dashboard(request):
    weeks = _weeks(request)
    board = dashboard.clinic_dashboard(weeks=weeks)
    if request.GET.get("format") == "csv":
        audit_record(actor=request.user, action="dashboard.exported", changes={"weeks": weeks})
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="clinic-dashboard-{board.end:%Y%m%d}-{weeks}w.csv"'
        )
        spreadsheet.writer(response).writerows(dashboard.csv_rows(board))
        return response
    charts = {
        "appointments": dashboard.bar_chart(
            values=[(w["week"].strftime("%d %b"), w["appointments"]) for w in board.weeks]
        ),
        "no_show": dashboard.bar_chart(
            values=[(w["week"].strftime("%d %b"), w["no_show_rate"]) for w in board.weeks], maximum=100
        ),
        "providers": dashboard.bar_chart(
            values=[(p["name"][:12], p["utilisation"]) for p in board.providers], maximum=100
        ),
    }
    return render(
        request,
        "insight/dashboard.html",
        {"board": board, "charts": charts, "weeks": weeks, "week_choices": (4, 8, 12, 26, 52)},
    )
