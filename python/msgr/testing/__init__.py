"""Helpers for conformance suites: ready-made objects and a pytest plugin
(``msgr.testing.plugin``, registered through the ``pytest11`` entry point).

* ``new_service``, ``ready_manager``, ``make_pair``: a seeded service with a licence
  and accounts, an unlocked session manager with an application, two ready users;
* ``pend``, ``unlock``, ``fail_unlock``: Lock and Key transactions that leave an
  object pending, unlocked or refused, embedded or over the network;
* ``Recorder`` / ``record``: every callback of some objects in one ordered list, and
  the callback names of each interface (``LOCK_CALLBACKS``, ...), from msgr's own
  event table;
* ``ServerUnderTest``, ``NetworkPair``, ``RemoteServerError``, ``LOCAL_USERS``: the
  MSNP server a network suite runs against (a local ``msgr.serve`` or a remote one)
  and two users signed in to it over TCP (the ``msgr_server`` and
  ``msgr_network_pair`` fixtures).

``msgr.testing.wire`` works a level lower, on the wire: msgr's MSNP codec (``Command``,
``Decoder``, ``x-msmsgsinvite`` payloads) and ``RawConnection``, a raw test connection
that records every line (the conformance suite, ``msgr.conformance``, is built on it).
"""

from __future__ import annotations

from .callbacks import (
    LOCK_CALLBACKS,
    MANAGER_CALLBACKS,
    MESSENGER_CALLBACKS,
    PRIV_CALLBACKS,
    SESSION_CALLBACKS,
    Recorder,
    callbacks_of,
    record,
)
from .kit import TEST_APP_NAME, TEST_APP_PATH, TEST_APP_URL, TEST_GUID, Pair, make_pair, new_service, ready_manager
from .lock_and_key import TEST_APP_ID, TEST_APP_KEY, WRONG_KEY, fail_unlock, pend, unlock
from .network import LOCAL_USERS, NetworkPair, RemoteServerError, ServerUnderTest, format_address

__all__ = [
    "TEST_APP_ID",
    "TEST_APP_KEY",
    "WRONG_KEY",
    "TEST_GUID",
    "TEST_APP_NAME",
    "TEST_APP_URL",
    "TEST_APP_PATH",
    "new_service",
    "ready_manager",
    "Pair",
    "make_pair",
    "pend",
    "unlock",
    "fail_unlock",
    "LOCK_CALLBACKS",
    "MANAGER_CALLBACKS",
    "SESSION_CALLBACKS",
    "PRIV_CALLBACKS",
    "MESSENGER_CALLBACKS",
    "callbacks_of",
    "Recorder",
    "record",
    "LOCAL_USERS",
    "ServerUnderTest",
    "NetworkPair",
    "RemoteServerError",
    "format_address",
]
