"""The social layer's HTTP API; build it with :func:`create_app`."""

from social.api.app import create_app

__all__ = ["create_app"]
