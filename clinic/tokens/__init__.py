"""API tokens: issued by the token exchange, hashed at rest (django-rest-knox), expiring,
listed and revoked by their owner and by the practice manager, and revoked whenever the
owner's credentials change (``clinic.signals.credentials_changed``)."""
