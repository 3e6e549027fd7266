"""Benchmark-only routes, mounted under /bench/ when BENCHMARK_ENDPOINTS=1 (never otherwise)."""

from django.urls import path

from . import views

app_name = "bench"

urlpatterns = [
    path("baseline/plain/", views.baseline_plain, name="baseline_plain"),
    path("baseline/pk/<int:pk>/", views.baseline_pk, name="baseline_pk"),
    path("baseline/query/<int:pk>/", views.baseline_query, name="baseline_query"),
    path("baseline/drf/", views.BaselineDrfView.as_view(), name="baseline_drf"),
]
