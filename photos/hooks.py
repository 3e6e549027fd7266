"""What higher apps do when a photograph becomes ready (the landmarks app measures it).

A higher app registers a callback from its AppConfig.ready(); this module never imports it.
Callbacks run after the commit that made the item ready, with the item's id, and must not
raise (a callback that fails is logged; the photograph stays ready)."""

import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

_on_ready: list[Callable[[int], None]] = []


def register_on_ready(callback: Callable[[int], None]) -> None:
    if callback not in _on_ready:
        _on_ready.append(callback)


def item_ready(item_id: int) -> None:
    for callback in _on_ready:
        try:
            callback(item_id)
        except Exception:
            logger.exception("a ready-photograph hook failed", extra={"item": item_id})
