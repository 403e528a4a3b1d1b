"""Challenge answers: the Lock and Key / MSNP6-10 MD5 response and the MSNP11+ one
(msgrpriv.md §1.1 and C5, msnp.md §d.3-§d.6)."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import msgr
from conftest import FIXTURES

VECTORS = json.loads((FIXTURES / "challenge_vectors.json").read_text(encoding="utf-8"))
MD5_VECTORS = [v for v in VECTORS if v["algorithm"] == "md5"]
MSNP11_VECTORS = [v for v in VECTORS if v["algorithm"] == "msnp11"]
HEX32 = re.compile(r"[0-9a-f]{32}")


def vector_id(v: dict[str, str]) -> str:
    return f"{v['algorithm']}-{v['challenge']}"


def test_fixture_has_every_vector_of_the_reference() -> None:
    # msnp.md §d.6: 7 MD5 rows and 8 MSNP11 rows.
    assert len(MD5_VECTORS) == 7
    assert len(MSNP11_VECTORS) == 8
    assert {v["algorithm"] for v in VECTORS} == {"md5", "msnp11"}


@pytest.mark.parametrize("v", MD5_VECTORS, ids=vector_id)
def test_lock_response_md5_vectors(v: dict[str, str]) -> None:
    answer = msgr.lock_response(v["challenge"], v["product_key"])
    assert answer == v["response"]
    assert HEX32.fullmatch(answer)
    # The documented rule, computed independently.
    assert answer == hashlib.md5((v["challenge"] + v["product_key"]).encode("ascii")).hexdigest()


@pytest.mark.parametrize("v", MSNP11_VECTORS, ids=vector_id)
def test_msnp11_response_vectors(v: dict[str, str]) -> None:
    answer = msgr.msnp11_response(v["challenge"], v["product_id"], v["product_key"])
    assert answer == v["response"]
    assert HEX32.fullmatch(answer)


@pytest.mark.parametrize("v", MSNP11_VECTORS, ids=vector_id)
def test_msnp11_differs_from_plain_md5(v: dict[str, str]) -> None:
    assert msgr.msnp11_response(v["challenge"], v["product_id"], v["product_key"]) != msgr.lock_response(
        v["challenge"], v["product_key"]
    )


def test_msnp11_step_one_intermediate() -> None:
    # msnp.md §d.4, the value for unit tests of step 1.
    assert msgr.lock_response("22210219642164014968", "YMM8C_H7KCQ2S_KL") == "ec4917aa5b3017159e3947f8ff981604"


def test_msnp11_pads_only_when_needed() -> None:
    # msnp.md §d.4: a 24-digit challenge + 16-character id is a multiple of 8; the client
    # pads only when needed (pidgin, JML, yellows111).
    answer = msgr.msnp11_response("123456789012345678901234", "PROD0090YUAUV{2B", "YMM8C_H7KCQ2S_KL")
    assert answer == "cfd1a4febba8ec8488adc3c0916fb4fa"
    assert answer != "948035b948c0318ad3fc5287620769f4"  # the always-pad rule


def test_msnp11_is_not_escargots_masked_variant() -> None:
    # msnp.md §d.5: Escargot's faulty answer for vector 8.
    answer = msgr.msnp11_response("22210219642164014968", "PROD0090YUAUV{2B", "YMM8C_H7KCQ2S_KL")
    assert answer != "85ecb05b8f32113df79ce0092b9a102c"
    assert answer == "85ecb0db8f32113df79ce0892b9a102c"


def test_usr_md5_password_proof_vector() -> None:
    # msnp.md §b.5 / msnp7_md5_login.txt: MD5(salt || password).
    assert msgr.lock_response("62924aa0c13bd8e", "123456") == "9015608a2361311d140d17349dd61a6e"


def test_capture_fixture_qry_matches() -> None:
    # The QRY of msnp7_md5_login.txt, re-derived from its CHL.
    text = (FIXTURES / "msnp7_md5_login.txt").read_text(encoding="utf-8")
    chl = re.search(r"S> b'CHL 0 (\d+)\\r\\n'", text)
    qry = re.search(r"C> b'QRY (\d+) msmsgs@msnmsgr.com 32\\r\\n([0-9a-f]{32})'", text)
    assert chl is not None and qry is not None
    assert msgr.lock_response(chl.group(1), "Q1P7W2E4J9R8U3S5") == qry.group(2)


def test_lock_response_order_is_challenge_then_key() -> None:
    assert msgr.lock_response("abc", "KEY") == hashlib.md5(b"abcKEY").hexdigest()
    assert msgr.lock_response("abc", "KEY") != hashlib.md5(b"KEYabc").hexdigest()


def test_lock_response_empty_strings() -> None:
    assert msgr.lock_response("", "") == hashlib.md5(b"").hexdigest() == "d41d8cd98f00b204e9800998ecf8427e"


@settings(deadline=None, max_examples=200)
@given(
    challenge=st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127), max_size=64),
    key=st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127), max_size=64),
)
def test_lock_response_is_md5_of_challenge_plus_key(challenge: str, key: str) -> None:
    answer = msgr.lock_response(challenge, key)
    assert answer == hashlib.md5((challenge + key).encode()).hexdigest()
    assert HEX32.fullmatch(answer)


@settings(deadline=None, max_examples=100)
@given(
    challenge=st.text(alphabet="0123456789", min_size=1, max_size=40),
    product_id=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=24),
    product_key=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=24),
)
def test_msnp11_output_shape(challenge: str, product_id: str, product_key: str) -> None:
    answer = msgr.msnp11_response(challenge, product_id, product_key)
    assert HEX32.fullmatch(answer)
    assert answer == msgr.msnp11_response(challenge, product_id, product_key)
