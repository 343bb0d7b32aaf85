"""The pages' French/English catalogue and the small pure helpers of ``social.web``.

Every key a template or a script looks up must exist in both languages: a missing one
would show a raw key to a resident (in a script) or fail the page (in a template).
"""

from __future__ import annotations

import re

import pytest

from social.web import STATIC, TEMPLATES, page_modules
from social.web.csrf import session_csrf_token, tokens_match
from social.web.i18n import COMMON, LANGUAGES, Catalogue, accepted_languages, negotiate
from social.web.pages import safe_next
from social.web.resident import JS_PREFIXES

CATALOGUE = Catalogue(COMMON, *(module.STRINGS for module in page_modules()))
#: t("key"), t('key') and t(`key${...}`) in templates and scripts.
LOOKUP = re.compile(r"""\bt\((?:"([^"]+)"|'([^']+)'|`([^`$]+)(\$\{)?[^`]*`)""")


def _lookups(text: str) -> set[tuple[str, bool]]:
    """``(key or prefix, is_prefix)`` of every lookup in ``text``."""
    found = set()
    for double, single, template, dynamic in LOOKUP.findall(text):
        key = double or single or template
        found.add((key, bool(dynamic) or key.endswith(".")))
    return found


def _sources() -> dict[str, str]:
    files = [*TEMPLATES.rglob("*.html"), *STATIC.rglob("*.js")]
    return {str(path.relative_to(path.parents[1])): path.read_text() for path in files}


@pytest.mark.parametrize("name", sorted(_sources()))
def test_every_key_looked_up_exists(name: str) -> None:
    lookups = _lookups(_sources()[name])
    keys = CATALOGUE.keys()
    missing = [key for key, prefix in lookups
               if not (any(k.startswith(key) for k in keys) if prefix else key in CATALOGUE)]
    assert not missing, f"{name} looks up keys the catalogue lacks: {missing}"


def test_the_feed_script_gets_every_key_it_looks_up() -> None:
    script = (STATIC / "js" / "feed.js").read_text()
    shipped = ("js.", *JS_PREFIXES)
    outside = [key for key, _prefix in _lookups(script)
               if key and not key.startswith("$") and not key.startswith(shipped)]
    assert not outside, f"feed.js looks up keys its page does not send: {outside}"


def test_every_text_exists_in_both_languages() -> None:
    for key in CATALOGUE:
        for lang in LANGUAGES:
            assert CATALOGUE.text(key, lang).strip(), (key, lang)


def test_a_catalogue_refuses_a_missing_language_or_a_key_twice() -> None:
    with pytest.raises(ValueError, match=r"'x\.y' has no 'en' text"):
        Catalogue({"x.y": {"fr": "oui"}})
    with pytest.raises(ValueError, match=r"'x\.y' is defined twice"):
        Catalogue({"x.y": {"fr": "oui", "en": "yes"}}, {"x.y": {"fr": "si", "en": "yes"}})
    with pytest.raises(KeyError):
        CATALOGUE.text("no.such.key", "fr")


def test_placeholders_and_script_subsets() -> None:
    assert CATALOGUE.text("login.too_many", "en", minutes=3) == (
        "Too many failed attempts for this account: try again in 3 min.")
    subset = CATALOGUE.for_script("fr", ("js.",))
    assert subset["js.live.live"] == "En direct"
    assert all(key.startswith("js.") for key in subset)


@pytest.mark.parametrize(("profile", "query", "header", "expected"), [
    ("en", "fr", "fr-FR", "en"),            # the profile wins
    (None, "en", "fr-FR,fr;q=0.9", "en"),   # then ?lang=
    (None, None, "de-DE,en;q=0.8,fr;q=0.9", "fr"),  # then the best supported language
    (None, "xx", "en-GB", "en"),             # an unknown ?lang= is ignored
    (None, None, "de, es", "fr"),            # nothing supported: French
    (None, None, None, "fr"),
])
def test_negotiate(profile: str | None, query: str | None, header: str | None,
                   expected: str) -> None:
    assert negotiate(profile=profile, query=query, accept_language=header) == expected


def test_accept_language_order_and_refusals() -> None:
    assert accepted_languages("en-GB,en;q=0.9,fr;q=0.95") == ["en", "fr", "en"]
    assert accepted_languages("fr;q=0, en") == ["en"]
    assert accepted_languages("fr;q=abc") == []


@pytest.mark.parametrize(("value", "expected"), [
    ("/settings?x=1", "/settings?x=1"),
    ("https://evil.example/", "/"),
    ("//evil.example/", "/"),
    ("/\\evil.example", "/"),
    ("/ok\r\nSet-Cookie: x", "/"),
    ("", "/"),
    (None, "/"),
])
def test_only_local_paths_are_followed_after_login(value: str | None, expected: str) -> None:
    assert safe_next(value) == expected


def test_a_session_csrf_token_is_bound_to_its_session() -> None:
    one, other = session_csrf_token("token-a"), session_csrf_token("token-b")
    assert one != other and "token-a" not in one
    assert tokens_match(one, session_csrf_token("token-a"))
    assert not tokens_match(one, other)
    assert not tokens_match(one, "") and not tokens_match(None, one)
