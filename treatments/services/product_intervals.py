"""The clinic's minimum reinjection interval per toxin product: set by the practice manager
(``manage_settings``) on the clinic settings page and through the API.

A product without a row uses the clinic default (``ClinicSettings.min_reinjection_interval_days``).
Clearing a product's interval deletes its row: the setting is the row's absence, and
django-simple-history keeps every version, the deletion included, with who made it. The rule
that applies the interval to toxin sessions is not here (treatments.interval owns it).
"""

from django.core.exceptions import ValidationError
from django.db import transaction

from clinic.audit import acting_user, attribute, audit_record
from clinic.configuration import invalid_from, settings_lock
from clinic.errors import Invalid

from ..models import Product, ToxinProductInterval

SET = "toxin_interval.set"
CLEARED = "toxin_interval.cleared"


def _known(product: str) -> None:
    if product not in Product.values:
        raise Invalid(fields={"product": ["Unknown product."]})


@transaction.atomic
def toxin_interval_set(*, product: str, actor, days: int | None) -> ToxinProductInterval | None:
    """Set ``product``'s minimum reinjection interval to ``days`` (1-365, the model's bounds);
    ``None`` clears it, so that the product uses the clinic default. Raises Invalid. Returns the
    product's row (None once cleared). Setting the value it already has changes nothing."""
    _known(product)
    if days is None:
        toxin_interval_clear(product=product, actor=actor)
        return None
    settings_lock()
    row = ToxinProductInterval.objects.select_for_update().filter(product=product).first()
    if row is None:
        row = ToxinProductInterval(product=product)
    old = row.min_interval_days
    if old == days:
        return row
    row.min_interval_days = days
    try:
        row.full_clean(exclude=["updated_by"])
    except ValidationError as exc:
        raise invalid_from(exc) from exc
    row.updated_by = acting_user(actor)
    attribute(row, actor)
    row.save()
    audit_record(actor=actor, action=SET, target=row, changes={"min_interval_days": [old, days]})
    return row


@transaction.atomic
def toxin_interval_clear(*, product: str, actor) -> None:
    """Remove ``product``'s own interval: it uses the clinic default again. Nothing to clear
    changes nothing."""
    _known(product)
    settings_lock()
    row = ToxinProductInterval.objects.select_for_update().filter(product=product).first()
    if row is None:
        return
    # Audited before the delete, while the row still has its id.
    audit_record(
        actor=actor, action=CLEARED, target=row, changes={"min_interval_days": [row.min_interval_days, None]}
    )
    attribute(row, actor)
    row.delete()
