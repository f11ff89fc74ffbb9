"""Issue 11, item 11: desk sessions are revoked server-side on logout and password change,
so a copied session cookie stops working (the cookie itself is only signed, not stored)."""

from __future__ import annotations

from sqlalchemy import select
from starlette.testclient import TestClient

from desk import auth
from kefu import db
from kefu.models.desk import Agent


def stolen_copy(app, client: TestClient) -> TestClient:
    thief = TestClient(app)
    thief.cookies.update(dict(client.cookies))
    return thief


def test_logout_revokes_every_copy_of_the_session(app, client_for):
    zhang = client_for("zhang")
    thief = stolen_copy(app, zhang)
    assert thief.get("/desk/", follow_redirects=False).status_code == 200
    zhang.post("/desk/logout", data={"csrf_token": zhang.csrf}, follow_redirects=False)
    response = thief.get("/desk/", follow_redirects=False)
    assert response.status_code == 303 and "/desk/login" in response.headers["location"]


def test_password_change_revokes_existing_sessions(app, client_for, clean_db):
    zhang = client_for("zhang")
    with db.session_scope(clean_db) as session:
        agent = session.execute(select(Agent).where(Agent.username == "zhang")).scalar_one()
        auth.set_password(session, agent, "a brand new password")
    response = zhang.get("/desk/", follow_redirects=False)
    assert response.status_code == 303 and "/desk/login" in response.headers["location"]
    assert client_for("li").get("/desk/", follow_redirects=False).status_code == 200  # others unaffected
