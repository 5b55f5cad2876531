"""A Yealink VP-T49G names itself 'Yealink SIP VP-T49G <firmware>', 'SIP' and the model apart (review of 50266d8).

Yealink's phones write 'Yealink SIP-<model> <firmware>' in their SIP and HTTP provisioning User-Agents, the video
phone VP-T49G 'Yealink SIP VP-T49G 51.80.0.10 00:15:65:9b:5a:44' (wazo-platform/wazo-provd-plugins
plugins/wazo_yealink/common/common.py, whose User-Agent regex reads 'SIP(?: VP)?-'). http.ua.yealink took the
first word after 'Yealink ' as the model, so the phone was model 'SIP'; sip.ua.yealink's model had no '-', so the
SIP User-Agent matched no rule. A 'SIP-' the VC look-ahead refuses is no longer given back to the model either
('Yealink SIP-VC800' is no phone 'SIP-VC800')."""

from __future__ import annotations

import pytest

from tests.inventory.stated import classify

VP_T49G = [
    ("http__user_agent", "Yealink SIP VP-T49G 51.80.0.10 00:15:65:9b:5a:44", None),
    ("sip__user_agent", "Yealink SIP VP-T49G 51.80.0.100", "51.80.0.100"),
    ("sip__server", "Yealink SIP VP-T49G 51.80.0.130", "51.80.0.130"),
]


@pytest.mark.parametrize(("attribute", "text", "firmware"), VP_T49G)
def test_the_vp_t49g_is_a_yealink_phone_of_its_model(attribute: str, text: str, firmware: str | None) -> None:
    values, _ = classify(**{attribute: [text]})
    assert (values.get("vendor"), values.get("device_type"), values.get("model")) == ("Yealink", "voip_phone",
                                                                                      "VP-T49G")
    assert values.get("firmware") == firmware


@pytest.mark.parametrize(("attribute", "text", "model"), [
    ("http__user_agent", "Yealink SIP-T46G 28.72.0.1 00:15:65:4a:a9:37", "T46G"),
    ("http__user_agent", "Yealink SIP-T21P_E2 52.80.0.3 00:15:65:4c:4c:26", "T21P_E2"),
    ("http__user_agent", "Yealink W60B 77.81.0.35 80:5e:c0:09:ab:dc", "W60B"),
    ("sip__user_agent", "Yealink SIP-T46S 66.86.0.15", "T46S"),
    ("sip__user_agent", "Yealink W60B 77.85.0.25", "W60B"),
])
def test_other_yealink_phones_keep_their_model(attribute: str, text: str, model: str) -> None:
    values, _ = classify(**{attribute: [text]})
    assert (values.get("device_type"), values.get("model")) == ("voip_phone", model)


@pytest.mark.parametrize("attribute", ["http__user_agent", "sip__user_agent"])
def test_a_sip_prefix_before_a_vc_model_is_never_taken_for_a_phone_model(attribute: str) -> None:
    _, rules = classify(**{attribute: ["Yealink SIP-VC800 63.345.0.40"]})
    assert not {"http.ua.yealink", "sip.ua.yealink"} & rules
