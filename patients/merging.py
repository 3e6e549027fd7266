"""How the apps above the registry take part in a patient merge, without being imported.

``patients.services.patient_merge`` is the one owner of "move a patient's records": it finds
every row that points at the duplicate (``selectors.merge_relations``) and moves it to the
survivor, one audited, history-recorded path. Two things here let the higher apps' own rules
hold through that move:

- **Hooks.** An app registers a ``MergeHook`` in its AppConfig.ready(), the way chart panels
  are registered (patients/chart.py). The merge calls every hook, inside its transaction,
  before any row moves, so the app can make its rows movable by its own rules, e.g. the
  treatments app puts the duplicate's active plan on hold when the survivor has one ("one
  active plan per patient"). A hook returns what it changed, for the merge's audit row.

- **The database's permission.** On PostgreSQL, tables whose rows are read-only once final
  (signed encounters) refuse any UPDATE in a trigger. While the merge moves rows it sets the
  transaction-local setting ``clinic.merge`` to ``"<duplicate id>:<survivor id>"``; such a
  trigger may then let through an UPDATE that changes nothing but ``patient_id``, from that
  duplicate to that survivor. The setting is cleared as soon as the rows have moved (a rollback
  of the merge clears it too). It is a guard against bugs and stray queries, not against someone
  who can run arbitrary SQL.

    register_merge_hook(MergeHook(key="treatments", prepare=prepare_merge))
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection

# The PostgreSQL setting the read-only triggers read (treatments migration 0005).
MERGE_SETTING = "clinic.merge"


@dataclass(frozen=True)
class MergeHook:
    key: str
    # Called with keyword arguments survivor=, duplicate=, actor= and reason= (the history
    # reason of the moved rows, "merged from <MRN>"), inside the merge's transaction, before
    # any row moves. Returns what it changed: {"app.model": {"what": [ids]}}, or {}.
    prepare: Callable[..., dict]
    # Called with survivor=, duplicate= and actor= once every row has moved, still inside the
    # merge's transaction: checks that need the whole history (e.g. the reinjection interval).
    finish: Callable[..., None] | None = None


_hooks: dict[str, MergeHook] = {}


def register_merge_hook(hook: MergeHook) -> None:
    _hooks[hook.key] = hook


def merge_hooks() -> list[MergeHook]:
    """Every registered hook, in key order (a merge runs them all)."""
    return [_hooks[key] for key in sorted(_hooks)]


@contextmanager
def merge_permission(*, survivor_id: int, duplicate_id: int) -> Iterator[None]:
    """While inside, the database lets rows of ``duplicate_id`` that are otherwise read-only
    move to ``survivor_id`` (PostgreSQL; elsewhere there are no such triggers). Use inside a
    transaction: the setting is local to it."""
    if connection.vendor != "postgresql":
        yield
        return
    _set(f"{duplicate_id}:{survivor_id}")
    yield
    # On an exception the merge's transaction (or savepoint) rolls back, and the setting with it.
    _set("")


def _set(value: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, %s, true)", [MERGE_SETTING, value])
