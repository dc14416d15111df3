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


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
SEED_USERS = f"""
from backroom.accounts.services import user_create
for username, role in [("olive", "owner"), ("maria", "manager"), ("carl", "clerk")]:
    user_create(username=username, role=role, password={PASSWORD!r})
"""


@pytest.fixture(scope="module")
def backroom_server():
    """A Backroom server of its own for one test module, with an owner, manager and clerk."""
    from .browser_server import BackroomServer

    server = BackroomServer()
    try:
        server.start()
        server.python(SEED_USERS)
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium, backroom_server):
    """A fresh browser tab of 1280×800 pointed at the module's server."""
    context = chromium.new_context(viewport={"width": 1280, "height": 800},
                                   base_url=backroom_server.url)
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    yield tab
    context.close()
