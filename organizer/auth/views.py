from flask import Blueprint

bp = Blueprint("auth", __name__)


@bp.get("/login")
def login():
    return "TODO"


@bp.get("/register")
def register():
    return "TODO"


@bp.get("/profile")
def profile():
    return "TODO"


@bp.post("/logout")
def logout():
    return "TODO"
