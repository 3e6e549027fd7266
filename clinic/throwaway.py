"""The one rule for commands that write made-up data into the database they are given (the scale
seed, the benchmarks): they refuse unless DEBUG is on or the operator says, with
``--i-know-this-is-not-production``, that no real patient is in it."""

from django.conf import settings
from django.core.management.base import CommandError

FLAG = "--i-know-this-is-not-production"


def add_flag(parser, *, writes: str) -> None:
    parser.add_argument(
        FLAG, action="store_true", dest="not_production", help=f"Required unless DEBUG is on: {writes}."
    )


def require(options: dict, *, refusing: str) -> None:
    """Raise CommandError("Refusing to <refusing> ...") unless the database may take made-up data."""
    if not (settings.DEBUG or options.get("not_production")):
        raise CommandError(
            f"Refusing to {refusing}: pass {FLAG} (or run with DEBUG on) on a database that holds "
            "no real patients."
        )
