"""pytest plugin (entry point ``pytest11: msgr``): fixtures for conformance suites.

* ``msgr_service``: a fresh embedded ``msgr.Service`` (seeded, virtual clock);
* ``msgr_pair``: two signed-in Messengers, session managers unlocked, an app registered;
* ``msgr_event_log``: an ``EventLog`` of everything on ``msgr_service``;
* ``msgr_server``: a TCP MSNP server on a free 127.0.0.1 port, or the external server
  named with ``--msgr-server HOST:PORT``, as ``(host, port)``.

It imports msgr only inside the fixtures, so loading the plugin costs nothing.
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("msgr")
    group.addoption(
        "--msgr-server",
        action="store",
        default=None,
        metavar="HOST:PORT",
        help="run msgr's network fixtures against this MSNP server instead of a local one",
    )


@pytest.fixture
def msgr_service() -> Any:
    import msgr

    return msgr.Service(seed=1)


@pytest.fixture
def msgr_pair(msgr_service: Any) -> Any:
    from msgr.testing import make_pair

    return make_pair(msgr_service)


@pytest.fixture
def msgr_event_log(msgr_service: Any) -> Iterator[Any]:
    from msgr.eventlog import EventLog

    with EventLog(msgr_service) as log:
        yield log


@pytest.fixture
def msgr_server(request: pytest.FixtureRequest) -> Iterator[tuple[str, int]]:
    external = request.config.getoption("--msgr-server")
    if external:
        host, _, port = external.rpartition(":")
        if not host or not port.isdigit():
            raise pytest.UsageError(f"--msgr-server wants HOST:PORT, not {external!r}")
        yield host, int(port)
        return
    import msgr

    serve = getattr(msgr, "serve", None)
    if serve is None:
        raise pytest.UsageError("this msgr build has no network mode; pass --msgr-server HOST:PORT")
    from msgr.testing import TEST_APP_ID, TEST_APP_KEY

    with serve("127.0.0.1", 0, seed=1, licenses=[(TEST_APP_ID, TEST_APP_KEY)]) as server:
        yield server.address
