from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.integration.harness import ApiUser


@pytest.fixture
def login() -> Iterator[Callable[[str, str], ApiUser]]:
    """``login(api_url, username)``: an authenticated API client, closed after the test."""
    users: list[ApiUser] = []

    def _login(api_url: str, username: str) -> ApiUser:
        user = ApiUser(api_url, username)
        users.append(user)
        return user

    yield _login
    for user in users:
        user.close()
