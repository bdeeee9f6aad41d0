"""Every route, given unknown ids, garbage and hostile query strings, never answers 5xx."""

from __future__ import annotations

import pytest
from werkzeug.routing import Rule

from . import factories

HOSTILE_QUERIES = [
    "",
    "?q=%3Cscript%3Ealert(1)%3C/script%3E",
    "?from=2026-02-30&to=not-a-date&online=maybe&page=-3",
    "?page=99999999999999999999&org=%00&region=%FF&cause=' OR 1=1 --",
    "?q=" + "x" * 5000,
    "?lang=xx&next=https://evil.example",
]

ARG_VALUES = {
    "int": ["999999", "0", "2147483648", "99999999999999999999"],
    "default": ["no-such-thing", "%3Cscript%3E", "x" * 300, "a%00b"],
}


def _urls_for(rule: Rule) -> list[str]:
    urls = [rule.rule]
    for arg, converter in rule._converters.items():
        kind = "int" if type(converter).__name__ == "IntegerConverter" else "default"
        urls = [
            url.replace(f"<{name}>", value)
            for url in urls
            for value in ARG_VALUES[kind]
            for name in _placeholders(rule, arg)
        ]
    return urls


def _placeholders(rule: Rule, arg: str) -> list[str]:
    for part in rule.rule.split("<")[1:]:
        placeholder = part.split(">", 1)[0]
        if placeholder.split(":")[-1] == arg:
            return [placeholder]
    return [arg]


def _get_rules(app) -> list[Rule]:
    return [r for r in app.url_map.iter_rules() if "GET" in r.methods and r.endpoint != "static"]


@pytest.mark.parametrize("as_user", ["anonymous", "volunteer", "admin"])
def test_no_get_route_answers_5xx(app, client, auth, as_user):
    if as_user != "anonymous":
        user = factories.make_user(is_admin=as_user == "admin")
        auth.login(user)
    failures = []
    for rule in _get_rules(app):
        for url in _urls_for(rule):
            for query in HOSTILE_QUERIES:
                response = client.get(url + query)
                if response.status_code >= 500:
                    failures.append((url + query[:60], response.status_code))
    assert failures == []


def test_no_post_route_answers_5xx_without_csrf_or_with_garbage(app, client, auth):
    auth.login(factories.make_user())
    failures = []
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods:
            continue
        for url in _urls_for(rule):
            for data in (
                {},
                {"csrf_token": "forged", "email": "\r\nBcc: x@y", "name": "x" * 10_000},
            ):
                response = client.post(url, data=data)
                if response.status_code >= 500:
                    failures.append((url, response.status_code))
                elif response.status_code < 400 and "csrf_token" not in data:
                    failures.append((url, f"accepted without CSRF: {response.status_code}"))
    assert failures == []
