"""Tests of the social layer: storage, the visibility rule, alarms and the HTTP API."""
