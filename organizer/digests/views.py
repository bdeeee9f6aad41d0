"""Subscribing to the weekly digest, confirming, preferences and unsubscribing."""

from flask import Blueprint

bp = Blueprint("digests", __name__)
