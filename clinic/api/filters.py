from rest_framework.filters import OrderingFilter


class AllowListOrderingFilter(OrderingFilter):
    """Ordering only on the fields a view names in ``ordering_fields``.

    DRF falls back to every serializer field when a view names none; here a view that names
    none cannot be ordered by the client at all (user input never reaches ORDER BY unchecked).
    """

    def get_valid_fields(self, queryset, view, context=None):
        fields = getattr(view, "ordering_fields", None)
        if not fields or fields == "__all__":
            return []
        return [(f, f) for f in fields]
