"""Fixtures, parametrisation and the report of the conformance suite.

* The run needs ``--msgr-server HOST:PORT`` and two ``--msgr-user EMAIL:PASSWORD``;
  without them it stops with a usage error saying so, before any check runs.
* The server is asked once which of MSNP7 to MSNP12 it agrees to; every check that
  takes a ``dialect`` runs in each of those (or of ``--msgr-protocols``) that its
  ``msgr_feature`` marker's ``dialects`` covers.
* ``msnp`` (a ``Harness``) opens connections and signs users in, recording every line
  in the check's transcript, and closes everything at the end.
* The report (``report.py``) is filled as checks finish, printed at the end of the run
  and written to each ``--msgr-report`` path.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest

import msgr
from msgr.testing.plugin import conformance_options
from msgr.testing.wire import ExchangeError, Transcript, WireError

from .features import FEATURES
from .harness import Harness
from .report import Report
from .target import DIALECTS, Account, Target, dialect_number, probe

_TARGET = pytest.StashKey[Target]()
_PROBE_ERROR = pytest.StashKey[str]()
_REPORT = pytest.StashKey[Report]()
_TRANSCRIPT = pytest.StashKey[Transcript]()
_FEATURE = "msgr_feature"


def _usage_problem(config: pytest.Config) -> str | None:
    """What the run lacks to check a server, or None."""
    options = conformance_options(config)
    if options.address is None:
        return (
            "the conformance suite checks a running MSNP server: give its address and two of its accounts, "
            "pytest --pyargs msgr.conformance --msgr-server HOST:PORT --msgr-user A@EXAMPLE.COM:PASSWORD "
            "--msgr-user B@EXAMPLE.COM:PASSWORD [--msgr-nexus URL] [--msgr-protocols MSNP7,MSNP11] [--msgr-report report.html]"
        )
    if len(options.users) < 2:
        return f"the conformance suite needs two accounts of the server (--msgr-user EMAIL:PASSWORD twice), {len(options.users)} given"
    return config.stash.get(_PROBE_ERROR, None)


def _target(config: pytest.Config) -> Target | None:
    """The server under check, asked once for its dialects (None when the options are
    not enough, or it cannot be reached: the run then stops with a usage error)."""
    if _TARGET in config.stash:
        return config.stash[_TARGET]
    options = conformance_options(config)
    if options.address is None or len(options.users) < 2 or _PROBE_ERROR in config.stash:
        return None
    host, port = options.address
    try:
        accepted = probe(host, port)
    except (OSError, WireError) as exc:
        config.stash[_PROBE_ERROR] = f"cannot ask the server at {host}:{port} which dialects it speaks: {exc}"
        return None
    if not accepted:
        config.stash[_PROBE_ERROR] = f"the server at {host}:{port} agreed to none of {', '.join(DIALECTS)} when offered each alone"
        return None
    dialects = options.protocols if options.protocols is not None else accepted
    target = Target(
        host=host,
        port=port,
        accounts=tuple(Account(email, password) for email, password in options.users),
        nexus=options.nexus,
        license=options.license,
        accepted=accepted,
        dialects=dialects,
    )
    config.stash[_TARGET] = target
    return target


def applies(spec: str, dialect: str) -> bool:
    """Whether a marker's ``dialects`` (``"all"``, ``"MSNP8+"``, ``"MSNP7-9"``,
    ``"MSNP11"``) covers ``dialect``."""
    n = dialect_number(dialect)
    if spec == "all":
        return True
    if spec.endswith("+"):
        return n >= dialect_number(spec[:-1])
    if "-" in spec:
        low, high = spec.split("-", 1)
        return dialect_number(low) <= n <= int(high)
    return n == dialect_number(spec)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every check that takes ``dialect`` runs once per dialect its marker covers."""
    if "dialect" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker(_FEATURE)
    spec = str(marker.kwargs.get("dialects", "all")) if marker is not None else "all"
    target = _target(metafunc.config)
    dialects = target.dialects if target is not None else DIALECTS
    chosen = [d for d in dialects if applies(spec, d)]
    metafunc.parametrize("dialect", chosen, ids=chosen)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Stops the run with a usage error when it cannot check a server; else registers
    every check with the report."""
    problem = _usage_problem(config)
    if problem is None and _target(config) is None:
        problem = _usage_problem(config)
    if problem is not None:
        raise pytest.UsageError(problem)
    target = config.stash[_TARGET]
    report = Report(target.address, target.dialects, nexus=target.nexus, version=msgr.__version__)
    config.stash[_REPORT] = report
    for feature in FEATURES:
        report.features[feature.name] = feature.source
    for item in items:
        marker = item.get_closest_marker(_FEATURE)
        if marker is None or len(marker.args) < 2:
            raise pytest.UsageError(f"{item.nodeid}: every conformance check needs @msgr_feature(name, source)")
        callspec = getattr(item, "callspec", None)
        dialect = callspec.params.get("dialect") if callspec is not None else None
        name = getattr(item, "originalname", item.name)
        report.expect(item.nodeid, name, str(marker.args[0]), str(marker.args[1]), dialect)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Adds each phase's outcome to the report: for a failure its reason and the lines
    the check exchanged, for a skip its reason."""
    rep = yield
    report = item.config.stash.get(_REPORT, None)
    if report is None:
        return rep
    message = ""
    exchanged: list[dict[str, object]] = []
    if rep.failed:
        exc = call.excinfo.value if call.excinfo is not None else None
        if isinstance(exc, ExchangeError):
            message = exc.reason
        elif exc is not None:
            message = f"{type(exc).__name__}: {exc}".split("\nLines exchanged:")[0]
        transcript = item.stash.get(_TRANSCRIPT, None)
        if transcript is not None:
            exchanged = transcript.to_records()
    elif rep.skipped and isinstance(rep.longrepr, tuple):
        message = str(rep.longrepr[2]).removeprefix("Skipped: ")
    if rep.when == "call" or not rep.passed:
        report.record(item.nodeid, rep.outcome, message, exchanged, rep.duration)
    return rep


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Writes the report to each ``--msgr-report`` path."""
    report = session.config.stash.get(_REPORT, None)
    if report is None:
        return
    for path in conformance_options(session.config).reports:
        if path.lower().endswith(".json"):
            report.write_json(path)
        else:
            report.write_html(path)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """The table feature × dialect."""
    report = config.stash.get(_REPORT, None)
    if report is None or not report.ran:
        return
    terminalreporter.section("msgr conformance")
    for line in report.terminal_lines():
        terminalreporter.write_line(line)
    for path in conformance_options(config).reports:
        terminalreporter.write_line(f"report written to {path}")


@pytest.fixture(scope="session")
def target(pytestconfig: pytest.Config) -> Target:
    """The server under check."""
    return pytestconfig.stash[_TARGET]


@pytest.fixture
def transcript(request: pytest.FixtureRequest) -> Transcript:
    """The lines this check exchanges (on failure, in its report entry)."""
    t = Transcript()
    request.node.stash[_TRANSCRIPT] = t
    return t


@pytest.fixture
def msnp(target: Target, transcript: Transcript) -> Iterator[Harness]:
    """Connections and sign-ins for one check, recorded in its transcript and closed
    at the end."""
    harness = Harness(target, transcript)
    try:
        yield harness
    finally:
        harness.close()
