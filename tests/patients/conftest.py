import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Every persona fixture creates a user with a password; the production hasher is slow on
    # purpose and would dominate these tests' run time.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
