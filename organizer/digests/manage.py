"""Organizer pages for the digest: this week's highlights and a preview."""

from flask import Blueprint

bp = Blueprint("digest_manage", __name__)
