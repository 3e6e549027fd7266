"""Form widgets."""

from django import forms
from django.utils.html import format_html, format_html_join


def _attrs(attrs: dict):
    """HTML attributes as Django's attrs.html writes them: in order, True alone, False left out."""
    return format_html_join(
        "",
        "{}",
        (
            (format_html(" {}", name) if value is True else format_html(' {}="{}"', name, value),)
            for name, value in attrs.items()
            if value is not False
        ),
    )


def _option(option: dict):
    return format_html(
        '<option value="{}"{}>{}</option>', option["value"], _attrs(option["attrs"]), option["label"]
    )


class FastSelect(forms.Select):
    """Django's Select, its options written in Python instead of a template include per option.

    A clinic group's provider and room choices run to hundreds each: the booking dialog spent
    nearly all of its 0.2 s rendering 1,200 options at a million patients. The HTML is Django's,
    whitespace between tags aside (tests/clinic/test_widgets.py).
    """

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        groups = []
        for group_name, options, _index in widget["optgroups"]:
            inner = format_html_join("", "{}", ((_option(option),) for option in options))
            groups.append(
                format_html('<optgroup label="{}">{}</optgroup>', group_name, inner) if group_name else inner
            )
        return format_html(
            '<select name="{}"{}>{}</select>',
            widget["name"],
            _attrs(widget["attrs"]),
            format_html_join("", "{}", ((group,) for group in groups)),
        )
