"""The collector's MQTT 5 packets, pinned to byte vectors worked out from the OASIS MQTT 5.0 standard."""

from __future__ import annotations

import pytest

from collector import mqtt5


def test_connect_is_mqtt5_with_clean_start_off_session_expiry_and_receive_maximum():
    got = mqtt5.connect("col-1", keepalive_s=30, session_expiry_s=604800, receive_maximum=10000,
                        username="u", password="p")
    assert got == bytes.fromhex(
        "10"            # CONNECT
        "20"            # remaining length 32
        "00044d515454"  # "MQTT"
        "05"            # protocol level 5
        "c0"            # user name + password flags, clean start off, no will
        "001e"          # keep alive 30 s
        "08"            # properties: 8 bytes
        "11" "00093a80"  # session expiry interval 604800 s
        "21" "2710"      # receive maximum 10000
        "0005" "636f6c2d31"  # client id "col-1"
        "0001" "75"     # user name "u"
        "0001" "70")    # password "p"


def test_subscribe_puback_publish_ping_and_disconnect_bytes():
    assert mqtt5.subscribe(1, "mw/#") == bytes.fromhex("820a" "0001" "00" "0004" "6d772f23" "01")
    assert mqtt5.puback(0x1234) == bytes.fromhex("40021234")
    assert mqtt5.publish("t", b"x", qos=1, packet_id=7) == bytes.fromhex("3207" "000174" "0007" "00" "78")
    assert mqtt5.publish("t", b"x") == bytes.fromhex("3005" "000174" "00" "78")
    assert mqtt5.pingreq() == b"\xc0\x00" and mqtt5.disconnect() == b"\xe0\x00"


def test_remaining_length_is_a_variable_byte_integer():
    payload = b"y" * 200                 # 3 + 1 + 200 = 204 -> 0xcc 0x01
    assert mqtt5.publish("t", payload)[:3] == bytes.fromhex("30cc01")
    (p,), used = mqtt5.parse(bytearray(mqtt5.publish("t", payload)))
    assert (p.topic, p.payload, used) == ("t", payload, 207)


def test_parse_cuts_packets_skips_publish_properties_and_keeps_a_partial_tail():
    connack = bytes.fromhex("2003" "01" "00" "00")                    # session present, success
    body = bytes.fromhex("0003" "612f62" "002a" "03" "230005" "7b7d")  # topic a/b, id 42, topic alias prop
    publish = bytes((0x32, len(body))) + body
    suback = bytes.fromhex("9004" "0001" "00" "01")
    puback = bytes.fromhex("4003" "0007" "87")                        # not authorized
    buf = bytearray(connack + publish + suback + puback + b"\x30\x05\x00")
    packets, used = mqtt5.parse(buf)
    assert used == len(buf) - 3                                       # the partial PUBLISH stays
    c, p, s, a = packets
    assert (c.kind, c.session_present, c.reason) == (mqtt5.CONNACK, True, 0)
    assert (p.kind, p.qos, p.packet_id, p.topic, p.payload) == (mqtt5.PUBLISH, 1, 42, "a/b", b"{}")
    assert (s.kind, s.packet_id, s.reason) == (mqtt5.SUBACK, 1, 1)
    assert (a.kind, a.packet_id, a.reason) == (mqtt5.PUBACK, 7, 0x87)
    assert mqtt5.parse(bytearray(b"\x40\x02\x00\x07"))[0][0].reason == 0   # short form: success


def test_garbage_is_a_protocol_error():
    with pytest.raises(mqtt5.ProtocolError, match="longer than 4 bytes"):
        mqtt5.parse(bytearray(b"\x30\xff\xff\xff\xff\x01"))
    with pytest.raises(mqtt5.ProtocolError, match="malformed"):
        mqtt5.parse(bytearray(b"\x32\x03\x00\x09a"))     # topic length beyond the packet


def test_one_subscribe_for_several_filters_and_its_suback_reports_the_worst_code():
    assert mqtt5.subscribe(1, ["a/+", "b"]) == bytes.fromhex("820d" "0001" "00" "0003" "612f2b" "01" "0001" "62" "01")
    (ack,), used = mqtt5.parse(bytearray(bytes.fromhex("9005" "0001" "00" "01" "80")))   # granted QoS 1, refused
    assert (ack.kind, ack.packet_id, ack.reason, used) == (mqtt5.SUBACK, 1, 0x80, 7)
