from django import template

register = template.Library()


@register.filter
def fields_named(form, names: str) -> list:
    """The form's bound fields named in ``names`` (space-separated), in that order, if present."""
    return [form[name] for name in names.split() if name in form.fields]


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None
