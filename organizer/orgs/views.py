from flask import Blueprint

bp = Blueprint("orgs", __name__)


@bp.get("/mine")
def mine():
    return "TODO"
