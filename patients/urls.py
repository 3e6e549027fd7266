"""Pages of the patients app."""

from django.urls import path

from . import views

app_name = "patients"

urlpatterns = [
    path("", views.patient_list, name="list"),
    path("search/", views.search_partial, name="search_partial"),
    path("new/", views.register, name="register"),
    path("validate/", views.validate, name="validate"),
    path("<int:pk>/", views.chart, name="chart"),
    path("<int:pk>/panels/<slug:key>/", views.chart_panel, name="chart_panel"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/consents/", views.record_consent, name="record_consent"),
    path("<int:pk>/deactivate/", views.deactivate, name="deactivate"),
    path("<int:pk>/reactivate/", views.reactivate, name="reactivate"),
    path("<int:pk>/merge/", views.merge, name="merge"),
]
