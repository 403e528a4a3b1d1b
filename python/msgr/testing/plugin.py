"""pytest plugin (entry point ``pytest11: msgr``): fixtures for conformance suites.

Embedded (no sockets, seeded, virtual clock):

* ``msgr_service``: a fresh ``msgr.Service``;
* ``msgr_pair``: two signed-in Messengers, session managers unlocked, an app
  registered (``msgr.testing.Pair``);
* ``msgr_event_log``: an ``EventLog`` of everything on ``msgr_service``.

Network (real TCP), local by default or against a remote server:

* ``msgr_server``: the server under test (``msgr.testing.ServerUnderTest``): by
  default a ``msgr.serve`` on a free 127.0.0.1 port with the accounts of
  ``msgr.testing.LOCAL_USERS`` and the test licence, started once per run; with
  ``--msgr-server HOST:PORT`` the server there, whose accounts are the
  ``--msgr-user EMAIL:PASSWORD`` options;
* ``msgr_network_pair``: alice and bob signed in to it over TCP
  (``msgr.testing.NetworkPair``); skipped when a remote server has fewer than two
  accounts.

Options (checked when pytest starts; a malformed one is a usage error, exit status 4):

* ``--msgr-server HOST:PORT`` (``[v6addr]:PORT`` for IPv6): run the network fixtures
  against this server;
* ``--msgr-user EMAIL:PASSWORD`` (repeatable, only with ``--msgr-server``; the password
  is everything after the first ``:``): an account of that server tests may use, in
  order (the first two make ``msgr_network_pair``);
* ``--msgr-license ID:KEY`` (only with ``--msgr-server``): the Lock and Key pair that
  server licenses, for ``NetworkPair.unlock`` (default: ``msgr.testing``'s test pair).

For the conformance suite (``pytest --pyargs msgr.conformance``, which needs
``--msgr-server`` and two ``--msgr-user``):

* ``--msgr-nexus URL``: the server's Passport nexus, for MSNP8+ sign-ins;
* ``--msgr-protocols MSNP7,MSNP11``: the dialects to check (default: every one of
  MSNP7 to MSNP12 the server agrees to);
* ``--msgr-report PATH`` (repeatable): write the report there, as JSON for a ``.json``
  path, HTML for ``.html`` and JUnit XML for ``.xml``;
* ``--msgr-timeout SECONDS``: how long an expectation waits (default 1.5);
* ``--msgr-strict``: NON-STRICT answers count as failures;
* ``--msgr-without FEATURE`` (repeatable): a feature the server does not offer (its
  cases are UNSUPPORTED; ``--msgr-list-cases`` shows the keys);
* ``--msgr-case ID`` (repeatable, ``*`` matches anything): run only these cases
  (``msnp11/ns/usr/3``, ``*/sb/ack/*``);
* ``--msgr-shuffle SEED``: run the cases in an order shuffled by ``SEED``;
* ``--msgr-list-cases``: print every case with its rule and source, and stop (no
  server needed).

When a test fails, its report gets a section ``msgr: …`` for each msgr object it
created or used (an embedded ``Service``, a ``connect()``-ed Messenger, a server started
in the test or the plugin's ``msgr_server``): the events delivered and the last wire
lines (secrets masked as in every trace), as pytest adds captured logs. Turn it off
with ``--msgr-no-evidence`` or ``msgr_evidence = false`` in the ini file;
``msgr_evidence_lines`` (default 40) sets how many wire lines.

The marker ``msgr_case(id)`` ties a test to its conformance case
(``msgr.conformance.cases``).

The marker ``msgr_local`` skips a test when ``--msgr-server`` is given (for tests that
create accounts or licences, or need the local ``ServerHandle``).

It imports msgr only inside the fixtures, so loading the plugin costs nothing.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import msgr
    from msgr.testing.evidence import Evidence
    from msgr.eventlog import EventLog
    from msgr.testing.kit import Pair
    from msgr.testing.network import NetworkPair, ServerUnderTest

_LOCAL_MARKER = "msgr_local"
_CASE_MARKER = "msgr_case"

#: The dialects ``--msgr-protocols`` may name (the ones the conformance suite knows).
KNOWN_DIALECTS = ("MSNP7", "MSNP8", "MSNP9", "MSNP10", "MSNP11", "MSNP12")


@dataclass(frozen=True)
class _Remote:
    """The remote server named on the command line, parsed."""

    address: tuple[str, int]
    users: tuple[tuple[str, str], ...]
    test_license: tuple[str, str] | None


#: The parsed ``--msgr-*`` options: None for the local server.
_REMOTE = pytest.StashKey[_Remote | None]()


@dataclass(frozen=True)
class ConformanceOptions:
    """The options of a conformance run, checked: the server's ``address`` (None
    without ``--msgr-server``), its ``users`` and ``license`` (``--msgr-license``, or
    None), ``nexus``, ``protocols`` (None: all six), the ``reports`` to write, the
    ``timeout``, ``strict``, the feature keys declared ``without``, the ``cases``
    patterns (empty: all), the ``shuffle`` seed and ``list_cases``."""

    address: tuple[str, int] | None
    users: tuple[tuple[str, str], ...]
    license: tuple[str, str] | None
    nexus: str | None
    protocols: tuple[str, ...] | None
    reports: tuple[str, ...]
    timeout: float = 1.5
    strict: bool = False
    without: tuple[str, ...] = ()
    cases: tuple[str, ...] = ()
    shuffle: int | None = None
    list_cases: bool = False


_CONFORMANCE = pytest.StashKey[ConformanceOptions]()
#: The msgr objects the running test touched (only when evidence is on).
_EVIDENCE = pytest.StashKey["Evidence"]()
#: Wire lines per object in a failure's evidence, or None when it is off.
_EVIDENCE_LINES = pytest.StashKey[int | None]()


def conformance_options(config: pytest.Config) -> ConformanceOptions:
    """The checked conformance options of this run (``msgr.conformance`` reads them)."""
    return config.stash[_CONFORMANCE]


def pytest_addoption(parser: pytest.Parser) -> None:
    """Adds ``--msgr-server``, ``--msgr-user`` and ``--msgr-license`` (group "msgr")."""
    group = parser.getgroup("msgr", "msgr network fixtures (msgr_server, msgr_network_pair)")
    group.addoption(
        "--msgr-server",
        action="store",
        default=None,
        metavar="HOST:PORT",
        help="run msgr's network fixtures against the MSNP server at HOST:PORT ([::1]:PORT for IPv6) instead of a local one",
    )
    group.addoption(
        "--msgr-user",
        action="append",
        default=[],
        metavar="EMAIL:PASSWORD",
        help="an account of the --msgr-server server tests may sign in with (repeatable; the first two are msgr_network_pair's alice and bob)",
    )
    group.addoption(
        "--msgr-license",
        action="store",
        default=None,
        metavar="ID:KEY",
        help="the Lock and Key pair the --msgr-server server licenses (default: msgr.testing's test pair)",
    )
    group.addoption(
        "--msgr-nexus",
        action="store",
        default=None,
        metavar="URL",
        help="conformance: the --msgr-server server's Passport nexus (http[s]://…), for MSNP8+ sign-ins",
    )
    group.addoption(
        "--msgr-protocols",
        action="store",
        default=None,
        metavar="MSNP7,MSNP11",
        help="conformance: the dialects to check, comma-separated (default: every one of MSNP7 to MSNP12 the server agrees to)",
    )
    group.addoption(
        "--msgr-report",
        action="append",
        default=[],
        metavar="PATH",
        help="conformance: write the report to PATH, as JSON (.json), HTML (.html) or JUnit XML (.xml); repeatable",
    )
    group.addoption(
        "--msgr-timeout",
        action="store",
        default=None,
        metavar="SECONDS",
        help="conformance: how long each expectation waits for the server, in seconds (default 1.5)",
    )
    group.addoption("--msgr-strict", action="store_true", default=False, help="conformance: count NON-STRICT answers as failures")
    group.addoption(
        "--msgr-without",
        action="append",
        default=[],
        metavar="FEATURE",
        help="conformance: a feature the server does not offer, whose cases are then UNSUPPORTED (repeatable; keys in --msgr-list-cases)",
    )
    group.addoption(
        "--msgr-case",
        action="append",
        default=[],
        metavar="ID",
        help="conformance: run only this case (msnp11/ns/usr/3; * matches anything, as in '*/sb/ack/*'); repeatable",
    )
    group.addoption("--msgr-shuffle", action="store", default=None, metavar="SEED", help="conformance: run the cases in an order shuffled by SEED (a number)")
    group.addoption(
        "--msgr-no-evidence",
        action="store_true",
        default=False,
        help="do not add the events and wire lines of the msgr objects a failing test used to its report",
    )
    parser.addini("msgr_evidence", "add the events and wire lines of the msgr objects a failing test used to its report", type="bool", default=True)
    parser.addini("msgr_evidence_lines", "wire lines per msgr object in a failing test's report (default 40)", default="40")
    group.addoption(
        "--msgr-list-cases",
        action="store_true",
        default=False,
        help="conformance: list every case with the rule it checks and its source, then stop (needs no server)",
    )


# --------------------------------------------------------------------------- options


def _parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[IPV6]:PORT`` -> ``(host, port)``; ValueError says what is wrong."""
    text = text.strip()
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or not rest.startswith(":"):
            raise ValueError("an IPv6 address is written [ADDRESS]:PORT")
        port_text = rest[1:]
    else:
        host, colon, port_text = text.rpartition(":")
        if not colon:
            raise ValueError("no port")
        if ":" in host:
            raise ValueError("an IPv6 address goes in brackets, as in [::1]:1863")
    if not host or any(c.isspace() for c in host):
        raise ValueError("no host" if not host else "a space in the host")
    if not (port_text.isascii() and port_text.isdigit()) or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"the port must be a number in 1..65535, not {port_text!r}")
    return host, int(port_text)


def _parse_pair(text: str, left: str, right: str) -> tuple[str, str]:
    """``LEFT:RIGHT`` split at the first ``:`` (the right part may contain more)."""
    first, colon, second = text.partition(":")
    if not colon:
        raise ValueError("no ':'")
    if not first.strip():
        raise ValueError(f"no {left}")
    if not second:
        raise ValueError(f"no {right}")
    return first.strip(), second


def _parse_user(text: str) -> tuple[str, str]:
    email, password = _parse_pair(text, "email", "password")
    local, at, domain = email.partition("@")
    if not at or not local or not domain or any(c.isspace() for c in email):
        raise ValueError(f"{email!r} is not an email address")
    return email, password


def _parse_options(config: pytest.Config) -> _Remote | None:
    """The checked ``--msgr-*`` options; raises ``pytest.UsageError`` for a bad one."""
    server: str | None = config.getoption("--msgr-server")
    users: list[str] = config.getoption("--msgr-user") or []
    license_text: str | None = config.getoption("--msgr-license")
    if server is None:
        if users:
            raise pytest.UsageError(
                "--msgr-user names an account of the server given with --msgr-server, and there is none "
                "(the local server has its own accounts, msgr.testing.LOCAL_USERS)"
            )
        if license_text is not None:
            raise pytest.UsageError("--msgr-license names the pair the --msgr-server server licenses, and there is none (the local server licenses the test pair)")
        return None
    try:
        address = _parse_address(server)
    except ValueError as exc:
        raise pytest.UsageError(f"--msgr-server wants HOST:PORT, not {server!r}: {exc}") from None
    accounts: list[tuple[str, str]] = []
    seen: set[str] = set()
    for text in users:
        try:
            email, password = _parse_user(text)
        except ValueError as exc:
            raise pytest.UsageError(f"--msgr-user wants EMAIL:PASSWORD, not {text!r}: {exc}") from None
        if email.lower() in seen:
            raise pytest.UsageError(f"--msgr-user gives {email} twice")
        seen.add(email.lower())
        accounts.append((email, password))
    test_license = None
    if license_text is not None:
        try:
            test_license = _parse_pair(license_text, "application ID", "key")
        except ValueError as exc:
            raise pytest.UsageError(f"--msgr-license wants ID:KEY, not {license_text!r}: {exc}") from None
    return _Remote(address, tuple(accounts), test_license)


def _parse_conformance(config: pytest.Config, remote: _Remote | None) -> ConformanceOptions:
    """The conformance options, checked; ``pytest.UsageError`` for a malformed one."""
    nexus: str | None = config.getoption("--msgr-nexus")
    if nexus is not None:
        nexus = nexus.strip()
        if not nexus.startswith(("http://", "https://")) or len(nexus.split("/")) < 3 or not nexus.split("/")[2]:
            raise pytest.UsageError(f"--msgr-nexus wants the nexus URL, http://HOST:PORT/… or https://…, not {nexus!r}")
    protocols_text: str | None = config.getoption("--msgr-protocols")
    protocols = None
    if protocols_text is not None:
        names = [n.strip().upper() for n in protocols_text.split(",") if n.strip()]
        unknown = [n for n in names if n not in KNOWN_DIALECTS]
        if not names or unknown:
            raise pytest.UsageError(
                f"--msgr-protocols wants dialects among {','.join(KNOWN_DIALECTS)}, comma-separated, not {protocols_text!r}"
            )
        protocols = tuple(d for d in KNOWN_DIALECTS if d in names)
    reports: list[str] = config.getoption("--msgr-report") or []
    for path in reports:
        if not path.lower().endswith((".json", ".html", ".htm", ".xml")):
            raise pytest.UsageError(f"--msgr-report wants a path ending in .json, .html or .xml, not {path!r}")
    from msgr.conformance.target import DEFAULT_TIMEOUT

    timeout_text: str | None = config.getoption("--msgr-timeout")
    timeout = DEFAULT_TIMEOUT
    if timeout_text is not None:
        try:
            timeout = float(timeout_text)
        except ValueError:
            timeout = -1.0
        if not 0 < timeout <= 600:
            raise pytest.UsageError(f"--msgr-timeout wants seconds, more than 0 and at most 600, not {timeout_text!r}")
    from msgr.conformance.features import FEATURES

    keys = [f.key for f in FEATURES]
    without: list[str] = config.getoption("--msgr-without") or []
    for key in without:
        if key not in keys:
            raise pytest.UsageError(f"--msgr-without wants a feature key, one of {', '.join(keys)}; not {key!r}")
    shuffle_text: str | None = config.getoption("--msgr-shuffle")
    shuffle = None
    if shuffle_text is not None:
        if not shuffle_text.strip().isdigit():
            raise pytest.UsageError(f"--msgr-shuffle wants a seed, a whole number, not {shuffle_text!r}")
        shuffle = int(shuffle_text)
    address, users, license_pair = (None, (), None) if remote is None else (remote.address, remote.users, remote.test_license)
    return ConformanceOptions(
        address,
        users,
        license_pair,
        nexus,
        protocols,
        tuple(reports),
        timeout=timeout,
        strict=bool(config.getoption("--msgr-strict")),
        without=tuple(dict.fromkeys(without)),
        cases=tuple(config.getoption("--msgr-case") or ()),
        shuffle=shuffle,
        list_cases=bool(config.getoption("--msgr-list-cases")),
    )


def pytest_configure(config: pytest.Config) -> None:
    """Registers the ``msgr_local`` and ``msgr_case`` markers and checks the
    ``--msgr-*`` options, so a malformed one stops the run before collection
    (``pytest.UsageError``, status 4)."""
    config.addinivalue_line("markers", f"{_LOCAL_MARKER}: needs msgr's local server (creates accounts or licences); skipped with --msgr-server")
    config.addinivalue_line("markers", f"{_CASE_MARKER}(id): the conformance case a test is (msgr.conformance.cases)")
    remote = _parse_options(config)
    config.stash[_REMOTE] = remote
    config.stash[_CONFORMANCE] = _parse_conformance(config, remote)
    config.stash[_EVIDENCE_LINES] = _parse_evidence(config)


def _parse_evidence(config: pytest.Config) -> int | None:
    if config.getoption("--msgr-no-evidence") or not config.getini("msgr_evidence"):
        return None
    text = str(config.getini("msgr_evidence_lines")).strip()
    if not text.isdigit() or int(text) > 100_000:
        raise pytest.UsageError(f"msgr_evidence_lines wants a whole number of lines, 0 to 100000, not {text!r}")
    return int(text)


def pytest_report_header(config: pytest.Config) -> str | None:
    """Names the remote server in the header (nothing for the local one)."""
    remote = config.stash.get(_REMOTE, None)
    if remote is None:
        return None
    from msgr.testing.network import format_address

    return f"msgr: network fixtures against {format_address(remote.address)} ({len(remote.users)} accounts)"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Against a remote server, marks the tests marked ``msgr_local`` skipped."""
    remote = config.stash.get(_REMOTE, None)
    if remote is None:
        return
    from msgr.testing.network import format_address

    skip = pytest.mark.skip(reason=f"{_LOCAL_MARKER}: needs the local server, and the run is against --msgr-server {format_address(remote.address)}")
    for item in items:
        if item.get_closest_marker(_LOCAL_MARKER) is not None:
            item.add_marker(skip)


# --------------------------------------------------------------------------- evidence of failures


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    """Starts watching the msgr objects the test creates (before its fixtures run)."""
    lines = item.config.stash.get(_EVIDENCE_LINES, None)
    if lines is not None:
        from msgr import _observe
        from msgr.testing.evidence import Evidence

        evidence = Evidence(lines)
        item.stash[_EVIDENCE] = evidence
        _observe.observers.append(evidence.observe)
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Adds the evidence to a failed phase's report; after teardown, stops watching."""
    report: pytest.TestReport = yield
    evidence = item.stash.get(_EVIDENCE, None)
    if evidence is not None:
        if report.failed:
            for title, text in evidence.sections():
                report.sections.append((title, text))
        if call.when == "teardown":
            from msgr import _observe

            if evidence.observe in _observe.observers:
                _observe.observers.remove(evidence.observe)
            evidence.close()
            del item.stash[_EVIDENCE]
    return report


def _watch(request: pytest.FixtureRequest, obj: object) -> None:
    """Puts ``obj`` (made before this test) in the test's evidence."""
    evidence = request.node.stash.get(_EVIDENCE, None)
    if evidence is not None:
        evidence.observe(obj)


# --------------------------------------------------------------------------- embedded fixtures


@pytest.fixture
def msgr_service() -> msgr.Service:
    """A fresh embedded ``msgr.Service`` (Lock and Key enabled, seed 1, virtual clock,
    no accounts or licences yet); everything happens in-process, no sockets."""
    import msgr

    return msgr.Service(seed=1)


@pytest.fixture
def msgr_pair(msgr_service: msgr.Service) -> Pair:
    """Alice and Bob (``alice@example.com``, ``bob@example.com``) signed in to
    ``msgr_service``, each with a session manager unlocked with the test pair and
    ``TEST_GUID`` registered (``msgr.testing.Pair``: ``.alice``, ``.bob``,
    ``.alice_manager``, ``.bob_manager``, ``.guid``, ``.service``)."""
    from msgr.testing import make_pair

    return make_pair(msgr_service)


@pytest.fixture
def msgr_event_log(msgr_service: msgr.Service) -> Iterator[EventLog]:
    """An ``msgr.EventLog`` of every event on ``msgr_service``, in delivery order,
    detached at the end of the test."""
    from msgr.eventlog import EventLog

    with EventLog(msgr_service) as log:
        yield log


# --------------------------------------------------------------------------- network fixtures


@pytest.fixture(scope="session")
def _msgr_server_session(pytestconfig: pytest.Config) -> Iterator[ServerUnderTest]:
    """The run's server under test: a local ``msgr.serve`` started once, or the
    ``--msgr-server`` one. ``msgr_server`` hands it to each test."""
    from msgr.testing.network import ServerUnderTest

    remote = pytestconfig.stash.get(_REMOTE, None)
    if remote is None:
        server = ServerUnderTest.start()
    elif remote.test_license is None:
        server = ServerUnderTest(remote.address, remote.users)
    else:
        server = ServerUnderTest(remote.address, remote.users, test_license=remote.test_license)
    with server:
        yield server


@pytest.fixture
def msgr_server(request: pytest.FixtureRequest, _msgr_server_session: ServerUnderTest) -> Iterator[ServerUnderTest]:
    """The MSNP server under test (``msgr.testing.ServerUnderTest``): a local
    ``msgr.serve`` on 127.0.0.1, or with ``--msgr-server HOST:PORT`` that server,
    whose accounts are the ``--msgr-user EMAIL:PASSWORD`` options. ``.address``,
    ``.users`` (email -> password), ``.remote``, ``.connect(email=None)`` (a Messenger
    signed in over TCP, closed after the test); ``.add_user`` and ``.license`` work
    locally and raise ``RemoteServerError`` remotely (mark such tests ``msgr_local``).

    The local server is started once for the whole run (seeded, with the test licence
    and the accounts of ``msgr.testing.LOCAL_USERS``), so accounts, licences and
    contact lists a test changes stay, as they would on a remote server."""
    handle = _msgr_server_session.handle
    if handle is not None:
        _watch(request, handle)
    yield _msgr_server_session
    _msgr_server_session.disconnect()


@pytest.fixture
def msgr_network_pair(msgr_server: ServerUnderTest) -> NetworkPair:
    """Alice and Bob signed in over TCP to ``msgr_server``
    (``msgr.testing.NetworkPair``): ``.alice``, ``.bob`` (Messengers, closed after the
    test), ``.alice_email``, ``.bob_email``, ``.guid``; ``.unlock(skip=False)``,
    ``.alice_manager``, ``.bob_manager`` give session managers unlocked with the
    server's licence and ``.guid`` registered. Locally alice@example.com and
    bob@example.com; remotely the first two ``--msgr-user`` accounts (skipped with
    fewer).

    Unlocking is left to the test because a remote server may not license the pair
    (``--msgr-license ID:KEY`` names one it does): ``unlock()`` raises
    ``AssertionError`` when refused, ``unlock(skip=True)`` skips the test."""
    return msgr_server.pair()
