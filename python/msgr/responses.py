"""The challenge answers an application computes: Lock and Key's, and MSNP11's ``CHL``
answer. Arguments are checked here, so a wrong type names its parameter."""

from __future__ import annotations

from . import _args, _core

__all__ = ["lock_response", "msnp11_response"]


def lock_response(challenge: str, key: str) -> str:
    """The Lock and Key response: 32 lowercase hex digits of MD5(challenge + key)."""
    return _core.lock_response(_args.text(challenge, "challenge"), _args.text(key, "key"))


def msnp11_response(challenge: str, product_id: str, product_key: str) -> str:
    """The MSNP11+ answer to a ``CHL`` challenge, as sent in ``QRY``. The product id and
    key are the client build's: ``msnp11_response("22210219642164014968",
    "PROD0090YUAUV{2B", "YMM8C_H7KCQ2S_KL")`` is ``"85ecb0db8f32113df79ce0892b9a102c"``."""
    return _core.msnp11_response(
        _args.text(challenge, "challenge"), _args.text(product_id, "product_id"), _args.text(product_key, "product_key")
    )
