"""Every decoder refuses a payload over the size limit, on every topic it listens to.

A family either refuses it with the limit as the reason, or skips the topic without
reading the payload (``Ignored``, ``None``); it never decodes a record out of it.
"""

from __future__ import annotations

import pytest

from firmware_bridge.base import MAX_PAYLOAD_BYTES, DecodeError
from firmware_bridge.families import FAMILIES, make_decoder, topic_filters
from firmware_bridge.records import Ignored, RawMessage
from tests.unit.test_decoder_properties import example_spec

OVERSIZE = b'{"temperature": 1, "pad": "' + b"x" * MAX_PAYLOAD_BYTES + b'"}'


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_an_oversized_payload_is_refused_with_the_limit(family: str) -> None:
    decoder = make_decoder(example_spec(family))
    refused = 0
    for pattern in topic_filters(decoder):
        topic = pattern.replace("+", "dev1").replace("#", "dev1")
        try:
            record = decoder.decode(RawMessage(topic, OVERSIZE))
        except DecodeError as exc:
            assert exc.reason == (f"payload of {len(OVERSIZE)} bytes exceeds the "
                                  f"{MAX_PAYLOAD_BYTES}-byte limit"), exc.reason
            refused += 1
            continue
        assert record is None or isinstance(record, Ignored), f"{topic}: {record!r}"
    assert refused >= 1, f"{family}: no topic where the limit applies"
