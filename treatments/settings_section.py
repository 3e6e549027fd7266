"""The minimum reinjection interval of each toxin product, as a section of the clinic settings
page (clinic.configuration): clinic owns the page but may not import treatments, so this app
registers the section in its AppConfig.ready() and answers the section's forms itself
(``treatments:toxin_interval``), through the services (treatments.services.product_intervals).
"""

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from clinic.configuration import SettingsSection, field_bounds, register_settings_section
from clinic.errors import DomainError
from clinic.views import capability_required

from . import services
from .models import Product, ToxinProductInterval

KEY = "toxin-intervals"
_LOW, _HIGH = field_bounds(ToxinProductInterval, "min_interval_days")


class ToxinIntervalForm(forms.Form):
    min_interval_days = forms.IntegerField(
        required=False,
        min_value=_LOW,
        max_value=_HIGH,
        label="Minimum interval (days)",
        help_text="Empty: the clinic default.",
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )


def product_intervals() -> dict[str, ToxinProductInterval]:
    """Each product's own interval row, for the settings editor (the reinjection rule itself
    reads them through treatments.interval)."""
    return {row.product: row for row in ToxinProductInterval.objects.select_related("updated_by")}


def section_context(*, user, clinic_settings) -> dict:
    rows = product_intervals()
    products = []
    for product, label in Product.choices:
        row = rows.get(product)
        form = ToxinIntervalForm(
            prefix=product, initial={"min_interval_days": row.min_interval_days if row else None}
        )
        # One small form per product row: the inputs sit in table cells, tied to it by id.
        form.fields["min_interval_days"].widget.attrs["form"] = f"interval-{product}"
        products.append({"product": product, "label": label, "row": row, "form": form})
    return {"products": products, "clinic_default": clinic_settings.min_reinjection_interval_days}


def register() -> None:
    register_settings_section(
        SettingsSection(
            key=KEY,
            title="Minimum reinjection interval per product",
            template="treatments/settings/toxin_intervals.html",
            context=section_context,
            audit_actions=("toxin_interval.",),
            unset_label="clinic default",
            order=10,
        )
    )


@require_POST
@capability_required("clinic.manage_settings")
def toxin_interval_edit(request, product: str):
    """Set a product's interval, or clear it (an empty value, or the "Use the clinic default"
    button): back to the settings page, with what happened."""
    if product not in Product.values:
        raise Http404
    label = Product(product).label
    form = ToxinIntervalForm(request.POST, prefix=product)
    back = redirect(reverse("clinic:settings") + f"#{KEY}")
    clear = request.POST.get("action") == "clear"
    if not clear and not form.is_valid():
        errors = " ".join(" ".join(errs) for errs in form.errors.values())
        messages.error(request, f"Interval for {label} not saved: {errors}")
        return back
    days = None if clear else form.cleaned_data["min_interval_days"]
    try:
        services.toxin_interval_set(product=product, actor=request.user, days=days)
    except DomainError as exc:
        errors = " ".join(" ".join(map(str, errs)) for errs in exc.fields.values()) or exc.detail
        messages.error(request, f"Interval for {label} not saved: {errors}")
        return back
    if days is None:
        messages.success(request, f"{label} now uses the clinic default interval.")
    else:
        messages.success(request, f"Minimum reinjection interval for {label} set to {days} days.")
    return back
