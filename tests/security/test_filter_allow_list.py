"""Filtering only on allow-listed fields: ``?<field>=<value>`` for every concrete field of every
list endpoint's model. A query parameter the OpenAPI schema does not document for that list must
change nothing: not the rows, not their order, not the status (the API ignores query parameters
it does not know, as it ignores ``?format=`` or a cache buster; see docs/security.md). The
filters that are documented are allow-listed in code (django-filter FilterSets, ``search`` and
``status`` on patients) and tested with their views."""

import pytest
from django.urls import resolve
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from clinic.roles import Role
from tests.factories import UserFactory
from tests.security.routes import all_routes, build_world, concrete_path


def _page(response):
    """A list's answer without its page links, which repeat the query string whatever it is."""
    body = response.json()
    if isinstance(body, dict):
        return {k: v for k, v in body.items() if k not in ("next", "previous")}
    return body


@pytest.fixture
def api(db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast users
    user = UserFactory(username="filter-probe", roles=[r.value for r in Role])
    client = APIClient()
    client.force_authenticate(user)
    return client


def _documented_query_parameters() -> dict[str, set[str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        path: {p["name"] for p in ops["get"].get("parameters", []) if p["in"] == "query"}
        for path, ops in schema["paths"].items()
        if "get" in ops
    }


def _model_of(view):
    if getattr(view, "queryset", None) is not None:
        return view.queryset.model
    serializer = getattr(view, "serializer_class", None)
    meta = getattr(serializer, "Meta", None)
    return getattr(meta, "model", None)


def _probes(model, field) -> list[str]:
    """A value a real row has (so that a filter, if applied, would keep only some rows) and one
    that no row has (so that it would keep none)."""
    row = model._default_manager.order_by("-pk").first()
    value = getattr(row, field.attname, None) if row is not None else None
    probes = [] if value is None or isinstance(value, dict | list) else [value]
    internal = field.get_internal_type()
    if internal in ("BooleanField",):
        probes += [True, False]
    elif "Integer" in internal or internal in ("AutoField", "BigAutoField", "ForeignKey", "DecimalField"):
        probes.append(0)
    elif internal in ("DateField",):
        probes.append("1901-01-01")
    elif internal in ("DateTimeField",):
        probes.append("1901-01-01T00:00:00Z")
    else:
        probes.append("zz-no-such-value")
    return [str(p).lower() if isinstance(p, bool) else str(p) for p in probes]


def test_filtering_by_a_parameter_outside_the_allow_list_changes_nothing(api):
    world = build_world()
    build_world()  # two of everything, so that a filter, if applied, would show
    documented = _documented_query_parameters()
    wrong = []
    checked = 0
    non_empty = 0
    for route in all_routes():
        if not (route.name.startswith("api:") and route.name.endswith("-list") and "GET" in route.methods):
            continue
        path = concrete_path(route, world)
        baseline = api.get(path)
        if baseline.status_code != 200:
            continue  # needs parameters (availability): covered by its own tests
        view = resolve(path).func.cls
        model = _model_of(view)
        if model is None:
            continue
        allowed = documented[path]
        body = baseline.json()
        non_empty += bool(body["results"] if isinstance(body, dict) else body)
        for field in model._meta.concrete_fields:
            for name in {field.name, field.attname} - allowed:
                for value in _probes(model, field):
                    response = api.get(path, {name: value})
                    checked += 1
                    if response.status_code != 200:
                        wrong.append(f"{route.name} ?{name}={value} -> {response.status_code}")
                    elif _page(response) != _page(baseline):
                        wrong.append(f"{route.name} ?{name}={value} changed the result")
    assert checked > 300
    assert non_empty > 20
    assert wrong == []


def test_a_documented_filter_does_narrow_the_list(api):
    """The probe above would notice a filter: the same probe on an allow-listed one does."""
    world = build_world()
    build_world()
    everything = api.get("/api/v1/toxin-sessions/").json()
    mine = api.get("/api/v1/toxin-sessions/", {"patient": world["patient"].pk}).json()
    assert everything["count"] == 2
    assert mine["count"] == 1
    none = api.get("/api/v1/toxin-sessions/", {"patient": 0})
    assert none.status_code == 400 or none.json()["count"] == 0
