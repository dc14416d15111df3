"""Fixtures of the screen tests: test clients signed in as each role."""

import pytest
from django.test import Client

PASSWORD = "counter-Pass-2026"  # the password of the users made by the shared fixtures


def signed_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def owner_client(owner) -> Client:
    return signed_in(owner)


@pytest.fixture
def clerk_client(clerk) -> Client:
    return signed_in(clerk)


@pytest.fixture
def manager_client(manager) -> Client:
    return signed_in(manager)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Hash test passwords with MD5: the default hasher costs a second per user."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
