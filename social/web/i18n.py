"""The pages' French and English texts, and which language a request gets.

Every text a page shows is a catalogue key with a French and an English version;
the catalogue refuses to be built with one missing, so no page can fall back to a
language its reader did not choose. The common texts (layout, login, errors, post
and place kinds) live here; each page module brings its own section as ``STRINGS``
(keys prefixed with the module's name: ``resident.``, ``manager.``…), and
:func:`social.web.install_web` merges them, refusing a key defined twice.

Keys starting with ``js.`` (and any other prefix a page asks for) are handed to the
page's scripts as JSON, where ``t(key, values)`` of ``static/js/dom.js`` reads them.
Placeholders are ``{name}``, filled by ``str.format`` here and by ``t`` in scripts.

The language: the member's profile setting when logged in (the FR/EN switch changes
it), else ``?lang=``, else the browser's ``Accept-Language``, else French.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from social.rights import KIND_LABELS, PLACE_KIND_LABELS

LANGUAGES: tuple[str, ...] = ("fr", "en")
DEFAULT_LANGUAGE = "fr"

Strings = Mapping[str, Mapping[str, str]]


def _capitalised(labels: Mapping[str, Mapping[str, str]], prefix: str) -> dict[str, dict[str, str]]:
    return {f"{prefix}{key}": {lang: text[:1].upper() + text[1:] for lang, text in texts.items()}
            for key, texts in labels.items()}


COMMON: Strings = {
    # layout
    "site.name": {"fr": "Palier", "en": "Palier"},
    "layout.skip": {"fr": "Aller au contenu", "en": "Skip to content"},
    "layout.nav": {"fr": "Navigation principale", "en": "Main navigation"},
    "layout.language": {"fr": "Langue", "en": "Language"},
    "layout.language.fr": {"fr": "Français", "en": "French"},
    "layout.language.en": {"fr": "Anglais", "en": "English"},
    "layout.logout": {"fr": "Se déconnecter", "en": "Log out"},
    "layout.footer": {"fr": "Palier — gratuit, sans publicité.",
                      "en": "Palier — free, no advertising."},
    # login
    "login.title": {"fr": "Connexion", "en": "Log in"},
    "login.intro": {"fr": "Connectez-vous avec l'identifiant et le mot de passe de votre compte.",
                    "en": "Log in with your account's username and password."},
    "login.username": {"fr": "Identifiant", "en": "Username"},
    "login.password": {"fr": "Mot de passe", "en": "Password"},
    "login.submit": {"fr": "Se connecter", "en": "Log in"},
    "login.failed": {"fr": "Identifiant ou mot de passe incorrect.",
                     "en": "Wrong username or password."},
    "login.missing": {"fr": "Saisissez votre identifiant et votre mot de passe.",
                      "en": "Enter your username and your password."},
    "login.too_many": {
        "fr": "Trop d'essais infructueux pour ce compte : réessayez dans {minutes} min.",
        "en": "Too many failed attempts for this account: try again in {minutes} min."},
    "login.join": {"fr": "Vous avez reçu un code d'invitation ? Créez votre compte.",
                   "en": "Received an invite code? Create your account."},
    "login.logged_out": {"fr": "Vous êtes déconnecté·e.", "en": "You are logged out."},
    # errors
    "error.title": {"fr": "Erreur", "en": "Error"},
    "error.back": {"fr": "Retour à l'accueil", "en": "Back to the home page"},
    "error.csrf": {"fr": "Ce formulaire a expiré. Rechargez la page et réessayez.",
                   "en": "This form has expired. Reload the page and try again."},
    "error.not_found": {"fr": "Cette page n'existe pas ou ne fait pas partie de vos cercles.",
                        "en": "This page does not exist or is not one of your circles."},
    "error.forbidden": {"fr": "Cette page n'est pas accessible avec votre rôle.",
                        "en": "Your role does not give access to this page."},
    # circles, as tabs name them
    "circle.unit": {"fr": "Mon logement", "en": "My home"},
    "circle.floor": {"fr": "Mon étage", "en": "My floor"},
    "circle.entrance": {"fr": "Mon entrée", "en": "My entrance"},
    "circle.building": {"fr": "Mon immeuble", "en": "My building"},
    "circle.neighbourhood": {"fr": "Mon quartier", "en": "My neighbourhood"},
    "circle.city": {"fr": "Ma ville", "en": "My city"},
    "circle.all": {"fr": "Tout", "en": "Everything"},
    # scripts: shared by every page
    "js.error.network": {"fr": "Palier ne répond pas. Vérifiez votre connexion.",
                         "en": "Palier does not answer. Check your connection."},
    "js.error.generic": {"fr": "Cela n'a pas fonctionné : {detail}",
                         "en": "That did not work: {detail}"},
    "js.error.forbidden": {"fr": "Action refusée : {detail}", "en": "Not allowed: {detail}"},
    "js.live.connecting": {"fr": "Connexion…", "en": "Connecting…"},
    "js.live.live": {"fr": "En direct", "en": "Live"},
    "js.live.reconnecting": {"fr": "Reconnexion…", "en": "Reconnecting…"},
    "js.live.offline": {"fr": "Hors ligne", "en": "Offline"},
    "js.saved": {"fr": "Enregistré.", "en": "Saved."},
    "js.loading": {"fr": "Chargement…", "en": "Loading…"},
    **_capitalised(KIND_LABELS, "kind."),
    **_capitalised(PLACE_KIND_LABELS, "place."),
}


class Catalogue:
    """Every key in every language; ``text`` raises KeyError on an unknown key, so a
    typo fails the page's test rather than showing a key to a resident."""

    def __init__(self, *sections: Strings) -> None:
        self._texts: dict[str, dict[str, str]] = {}
        for section in sections:
            for key, texts in section.items():
                if key in self._texts:
                    raise ValueError(f"catalogue key {key!r} is defined twice")
                missing = [lang for lang in LANGUAGES if not texts.get(lang)]
                if missing:
                    raise ValueError(f"catalogue key {key!r} has no {missing[0]!r} text")
                self._texts[key] = dict(texts)

    def __contains__(self, key: object) -> bool:
        return key in self._texts

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._texts))

    def keys(self) -> list[str]:
        return sorted(self._texts)

    def text(self, key: str, lang: str, **values: object) -> str:
        texts = self._texts[key]
        text = texts.get(lang) or texts[DEFAULT_LANGUAGE]
        return text.format(**values) if values else text

    def for_script(self, lang: str, prefixes: Iterable[str]) -> dict[str, str]:
        """The texts whose key starts with one of ``prefixes``, in ``lang``."""
        wanted = tuple(prefixes)
        return {key: texts.get(lang) or texts[DEFAULT_LANGUAGE]
                for key, texts in self._texts.items() if key.startswith(wanted)}


def supported(lang: str | None) -> str | None:
    if lang is None:
        return None
    lang = lang.strip().lower()
    return lang if lang in LANGUAGES else None


def accepted_languages(header: str | None) -> list[str]:
    """The primary language tags of an ``Accept-Language`` header, preferred first."""
    if not header:
        return []
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, index, tag.split("-")[0].lower()))
    return [tag for _, _, tag in sorted(ranked)]


def negotiate(*, profile: str | None, query: str | None, accept_language: str | None) -> str:
    """The profile's language, else ``?lang=``, else the browser's, else French."""
    for choice in (profile, query, *accepted_languages(accept_language)):
        lang = supported(choice)
        if lang is not None:
            return lang
    return DEFAULT_LANGUAGE
