"""Pages of the insight app, mounted beside the clinical pages under /clinical/ (the dashboard's address
never changed when it moved here)."""

from django.urls import path

from . import settings_section, views

app_name = "insight"

urlpatterns = [
    path("dashboard/", views.clinic_dashboard, name="dashboard"),
    path("settings/code-map/", settings_section.code_mapping_add, name="code_mapping_add"),
    path(
        "settings/code-map/<int:pk>/remove/", settings_section.code_mapping_remove, name="code_mapping_remove"
    ),
]
