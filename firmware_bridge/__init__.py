"""Vendor payloads in, normalised updates out.

Each firmware family is a small pure module with a ``Decoder`` (see ``base``);
``families.FAMILIES`` maps a bridge's ``format`` to its decoder factory.
"""
