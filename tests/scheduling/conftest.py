import pytest

from scheduling.reminders import channels


@pytest.fixture(autouse=True)
def _sms_outbox():
    channels.outbox.clear()
    yield channels.outbox
    channels.outbox.clear()


@pytest.fixture
def sms_outbox():
    return channels.outbox
