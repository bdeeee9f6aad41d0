from flask import Blueprint

bp = Blueprint("events", __name__)


@bp.get("/")
def index():
    return "TODO"


@bp.get("/<int:event_id>")
def detail(event_id: int):
    return "TODO"
