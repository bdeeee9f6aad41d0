from flask import Blueprint

bp = Blueprint("signups", __name__)
