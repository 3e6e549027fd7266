"""FastSelect writes the same HTML as Django's Select (whitespace between tags aside)."""

import pytest
from django import forms
from django.test.html import parse_html

from clinic.widgets import FastSelect

CHOICES = [("", "Any free room"), (1, "Consult <1> & co"), (2, 'Theatre "A"'), (3, "Room 3")]
GROUPED = [("Cork", [(1, "Consult 1"), (2, "Consult 2")]), ("Dublin", [(3, "Theatre")]), ("", "None")]


@pytest.mark.parametrize(
    ("choices", "value", "attrs"),
    [
        (CHOICES, None, {}),
        (CHOICES, 2, {"id": "id_room", "required": True, "disabled": False, "aria-describedby": "help"}),
        (CHOICES, "3", {"class": "wide", "hx-get": "/schedule/book/?a=1&b=2"}),
        (GROUPED, 3, {"id": "grouped"}),
    ],
)
def test_same_html_as_djangos_select(choices, value, attrs):
    django_html = forms.Select(choices=choices).render("room", value, attrs=dict(attrs))
    fast_html = FastSelect(choices=choices).render("room", value, attrs=dict(attrs))
    assert parse_html(fast_html) == parse_html(django_html)
    assert fast_html.count("<option") == django_html.count("<option")


def test_labels_and_values_are_escaped():
    html = FastSelect(choices=CHOICES).render("room", None, attrs={"data-x": '"><script>'})
    assert "Consult &lt;1&gt; &amp; co" in html and "Theatre &quot;A&quot;" in html
    assert "<script>" not in html and 'data-x="&quot;&gt;&lt;script&gt;"' in html
