"""Pages of the insight app, mounted beside the clinical pages under /clinical/ (the dashboard's address
never changed when it moved here)."""

from django.urls import path

from . import views

app_name = "insight"

urlpatterns = [
    path("dashboard/", views.clinic_dashboard, name="dashboard"),
]
