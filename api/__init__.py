"""The JSON face of the portal's services, under /api/v1/."""

from flask import Blueprint

blueprint = Blueprint("api", __name__)

from api import corrections, identity, inbox, oversight, requests, resources, transfers  # noqa: E402,F401  (register the routes on the blueprint)
