"""Pages of the photos app, under /photos/."""

from django.urls import path

from . import views

app_name = "photos"

urlpatterns = [
    path("patients/<int:patient_id>/", views.patient_photos, name="patient"),
    path("patients/<int:patient_id>/new/", views.set_new, name="set_new"),
    path("patients/<int:patient_id>/compare/", views.compare, name="compare"),
    path("patients/<int:patient_id>/grid/", views.view_grid, name="grid"),
    path("patients/<int:patient_id>/consent/", views.consent, name="consent"),
    path("consents/<int:pk>/withdraw/", views.consent_withdraw, name="consent_withdraw"),
    path("sets/<int:pk>/", views.set_detail, name="set"),
    path("sets/<int:pk>/upload/", views.upload, name="upload"),
    path("sets/<int:pk>/delete/", views.set_delete, name="set_delete"),
    path("media/<int:pk>/", views.item_tile, name="item"),
    path("media/<int:pk>/file/", views.item_file, name="file"),
    path("media/<int:pk>/retry/", views.item_retry, name="item_retry"),
    path("media/<int:pk>/delete/", views.item_delete, name="item_delete"),
    path("surgery/<int:pk>/", views.before_after, name="before_after"),
    path("teaching-export/", views.teaching_export, name="teaching_export"),
]
