"""The real HTTP stack answers: gunicorn serves the admin login page from the test database."""

import httpx


def test_admin_login_page_served_by_gunicorn(live_url: str) -> None:
    response = httpx.get(f"{live_url}/admin/login/")
    assert response.status_code == 200
    assert "Django administration" in response.text or "Log in" in response.text
