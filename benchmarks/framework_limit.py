"""The framework-limit page: what Flask, flask-login, one user lookup and Jinja cost alone.

Served by the benchmark (never part of the portal) with the same gunicorn settings, so
that every portal page can be measured against the floor this stack sets: a session
cookie read by flask-login, one narrow SELECT of the signed-in user from the portal's
own `users` table, and a Jinja page of the same size as the guardian home.

Environment: DATABASE_URL, SECRET_KEY (the portal's, so its session cookie works here
too: the cookie names the user as "<id>:<session token>:<session key>"), LIMIT_PAGE_BYTES.
"""

from __future__ import annotations

import os

from flask import Flask, render_template
from flask_login import LoginManager, UserMixin, current_user, login_required
from jinja2 import DictLoader
from sqlalchemy import create_engine, text

PAGE_BYTES = int(os.environ.get("LIMIT_PAGE_BYTES", 4000))
# Autocommit: the lookup is one round trip, with no BEGIN or ROLLBACK around it.
engine = create_engine(os.environ["DATABASE_URL"], hide_parameters=True, isolation_level="AUTOCOMMIT")

app = Flask(__name__)
app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]
login_manager = LoginManager(app)
login_manager.session_protection = "basic"

TEMPLATE = """<!doctype html>
<html lang="zh-Hans"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body><header><p>{{ user.display_name }}</p></header><main><h1>{{ title }}</h1><ul>
{% for item in items %}<li class="card">
<h2><a href="/children/{{ item }}">{{ title }} {{ item }}</a></h2><p>{{ filler }}</p></li>
{% endfor %}</ul></main></body></html>"""
TITLE, FILLER = "我的孩子", "学籍信息" * 4
# A template file, as the portal's are: compiled once, not per request.
app.jinja_loader = DictLoader({"page.html": TEMPLATE})


def _bytes(items: list[int]) -> int:
    page = app.jinja_env.get_template("page.html")
    return len(page.render(title=TITLE, user={"display_name": "家长"}, items=items, filler=FILLER).encode())


# As many items as make the page as large, in bytes, as the one it stands for.
ITEMS = list(range(max(1, (PAGE_BYTES - _bytes([])) // (_bytes([0]) - _bytes([])))))


class User(UserMixin):
    def __init__(self, user_id: int, display_name: str, session_token: str) -> None:
        self.id = user_id
        self.display_name = display_name
        self.session_token = session_token

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"


@login_manager.user_loader
def load_user(session_id: str):
    # "<id>:<token>:<session key>" since the portal keeps sessions server-side; the key is
    # not checked here (the limit page stands for one lookup of the user's row).
    user_id, _, token = session_id.partition(":")
    token = token.partition(":")[0]
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT id, display_name, session_token FROM users WHERE id = :id"), {"id": int(user_id)}
        ).first()
    if row is None or row.session_token != token:
        return None
    return User(row.id, row.display_name, row.session_token)


@app.get("/page")
@login_required
def page():
    return render_template("page.html", title=TITLE, user=current_user, items=ITEMS, filler=FILLER)
