"""The scheduling tests' small clinic (rooms, providers with hours, appointment types, frozen
time), for booking with and without consent."""

from tests.scheduling.conftest import _fast_passwords, clinic, frozen  # noqa: F401 (fixtures)
