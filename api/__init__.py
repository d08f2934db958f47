"""The JSON face of the portal's services, under /api/v1/."""

from flask import Blueprint

blueprint = Blueprint("api", __name__)

from api import resources  # noqa: E402,F401  (registers the routes on the blueprint)
