from django import template

from .. import face_diagram as diagram

register = template.Library()


@register.filter
def fields_named(form, names: str) -> list:
    """The form's bound fields named in ``names`` (space-separated), in that order, if present."""
    return [form[name] for name in names.split() if name in form.fields]


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.inclusion_tag("treatments/_face_diagram.html")
def face_diagram(injections=(), affected_side: str = "", editable: bool = False) -> dict:
    """The face diagram of an injection map (treatments/face_diagram.py), with its marked rows."""
    return {"face": diagram.context(injections, affected_side=affected_side or "", editable=editable)}
