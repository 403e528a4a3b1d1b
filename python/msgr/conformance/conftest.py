"""The conformance suite's wiring into pytest: the server under check, the cases to
run, each case's grade, and the report.

* ``--msgr-list-cases`` prints the catalogue and stops; nothing else is needed.
* Otherwise the run needs ``--msgr-server HOST:PORT`` and two ``--msgr-user
  EMAIL:PASSWORD``. Before any case runs, the server is asked which dialects it
  agrees to, the nexus is asked for its login server (when a dialect from MSNP8 is
  checked) and every account signs in once: a server that cannot be reached, a
  missing or unreachable nexus, or a refused password is a usage error (exit 4), not
  a run of failures.
* Each case that takes ``dialect`` is collected in every dialect it applies to, and
  runs in those of the run (``--msgr-protocols``, by default all six); in a dialect
  the server refuses it is UNSUPPORTED. ``--msgr-case`` picks cases by id,
  ``--msgr-shuffle`` orders them at random.
* ``msnp`` (a ``Harness``) opens connections and signs users in, recording every line
  in the case's wire log, grades what it can, puts back what the case changed, and
  closes everything at the end.
"""

from __future__ import annotations

import datetime
import fnmatch
import random
import shlex
from collections.abc import Generator, Iterator

import pytest

import msgr
from msgr.testing.plugin import ConformanceOptions, conformance_options
from msgr.testing.wire import ExchangeError, Transcript, WireError

from . import passport, steps
from .cases import CASES, Case, Grade, case_of, catalogue
from .harness import Harness
from .report import Report
from .target import DEFAULT_TIMEOUT, DIALECTS, Account, Target, dialect_number, probe
from .verdict import NotRun, RateLimited, SetupFailed, Unsupported, Verdict

_TARGET = pytest.StashKey[Target]()
_REPORT = pytest.StashKey[Report]()
_TRANSCRIPT = pytest.StashKey[Transcript]()
_VERDICT = pytest.StashKey[Verdict]()
_FINDINGS = pytest.StashKey[dict[str, str]]()
#: Set when the case's body passed and its grade failed it afterwards (its answer
#: was right; its ending, or strictness, failed it).
_FAILED_AFTER = pytest.StashKey[bool]()

#: The case that judges whether the server speaks a dialect: it runs even in one the
#: server refused, to say so.
VER_CASE = "ns/ver/1"

USAGE = (
    "the conformance suite checks a running MSNP server: give its address and two of its accounts, "
    "pytest --pyargs msgr.conformance --msgr-server HOST:PORT --msgr-user A@EXAMPLE.COM:PASSWORD "
    "--msgr-user B@EXAMPLE.COM:PASSWORD [--msgr-nexus URL] [--msgr-protocols MSNP7,MSNP11] [--msgr-report report.html] "
    "(--msgr-list-cases lists the cases without a server)"
)


def _preflight(options: ConformanceOptions) -> Target:
    """The server under check, asked for its dialects, its nexus checked and every
    account signed in once; ``pytest.UsageError`` saying what is wrong otherwise."""
    if options.address is None:
        raise pytest.UsageError(USAGE)
    if len(options.users) < 2:
        raise pytest.UsageError(f"the conformance suite needs two accounts of the server (--msgr-user EMAIL:PASSWORD twice), {len(options.users)} given")
    host, port = options.address
    try:
        accepted = probe(host, port, timeout=options.timeout)
    except (OSError, WireError) as exc:
        raise pytest.UsageError(f"cannot ask the server at {host}:{port} which dialects it speaks: {exc}") from None
    if not accepted:
        raise pytest.UsageError(f"the server at {host}:{port} agreed to none of {', '.join(DIALECTS)} when offered each alone")
    dialects = options.protocols if options.protocols is not None else DIALECTS
    target = Target(
        host=host,
        port=port,
        accounts=tuple(Account(email, password) for email, password in options.users),
        nexus=options.nexus,
        license=options.license,
        accepted=accepted,
        dialects=dialects,
        requested=options.protocols is not None,
        timeout=options.timeout,
        without=frozenset(options.without),
        strict=options.strict,
    )
    runnable = [d for d in dialects if d in accepted]
    passport_era = [d for d in runnable if dialect_number(d) >= 8]
    if passport_era:
        if target.nexus is None:
            raise pytest.UsageError(
                f"the server agrees to {', '.join(passport_era)}, which sign in through Passport 1.4: give its nexus URL with "
                "--msgr-nexus (or check only MSNP7 with --msgr-protocols MSNP7)"
            )
        transcript = Transcript()
        try:
            answer, login = passport.nexus(target.nexus, transcript, timeout=target.timeout)
        except (OSError, ValueError) as exc:
            raise pytest.UsageError(f"cannot reach the Passport nexus {target.nexus}: {exc}") from None
        if login is None:
            raise pytest.UsageError(f"the nexus {target.nexus} answered {answer.status} without PassportURLs: DALogin=…; is that the nexus URL?")
    if runnable:
        # The newest dialect signs in with what most servers check hardest.
        dialect = runnable[-1]
        for account in target.accounts:
            transcript = Transcript()
            try:
                ns = steps.sign_in(target, account, dialect, transcript, f"NS {account.name}")
            except ExchangeError as exc:
                raise pytest.UsageError(
                    f"{account.email} cannot sign in to {target.address} in {dialect}: {exc.reason} "
                    "(check --msgr-user's password, and that the account exists)"
                ) from None
            try:
                ns.sign_out(timeout=min(1.0, target.timeout))
            except ExchangeError:
                pass
            ns.conn.close()
    return target


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every case that takes ``dialect`` is collected once per dialect it applies to
    (stable ids whatever the run checks; the others are deselected)."""
    if "dialect" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("msgr_case")
    found = CASES.get(str(marker.args[0])) if marker is not None else None
    dialects = found.in_dialects() if found is not None else DIALECTS
    metafunc.parametrize("dialect", dialects, ids=list(dialects))


def _dialect_of(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("dialect") if callspec is not None else None


def list_lines(cases: list[Case]) -> list[str]:
    """The catalogue as text: each case's id, dialects, feature, title, rule and sources."""
    lines = [f"msgr conformance suite, msgr {msgr.__version__}: {len(cases)} cases"]
    for c in cases:
        scope = "once" if c.once else ", ".join(d.lower() for d in c.in_dialects())
        lines.append(f"{c.id}  [{c.feature.key}] ({scope}) {c.title}")
        lines.append(f"    rule: {c.rule}")
        lines.extend(f"    source: {s}" for s in c.sources)
    return lines


def rerun_command(options: ConformanceOptions, target: Target, case_id: str) -> str:
    """The command that runs just ``case_id`` against the same server, with the same
    judging options (passwords and keys masked)."""
    args = ["pytest", "--pyargs", "msgr.conformance", "--msgr-server", target.address]
    args += [f"--msgr-user={a.email}:***" for a in target.accounts]
    if target.nexus:
        args += ["--msgr-nexus", target.nexus]
    if target.license:
        args += [f"--msgr-license={target.license[0]}:***"]
    if options.timeout != DEFAULT_TIMEOUT:
        args += ["--msgr-timeout", f"{options.timeout:g}"]
    if options.strict:
        args.append("--msgr-strict")
    for key in options.without:
        args += ["--msgr-without", key]
    args += ["--msgr-case", case_id]
    return shlex.join(args)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Lists the cases (``--msgr-list-cases``), or checks the server (a usage error if
    it cannot be checked), keeps the cases the run asked for in the order it asked,
    and registers them with the report."""
    options = conformance_options(config)
    if options.list_cases:
        for line in list_lines(catalogue()):
            print(line)
        pytest.exit("listed the cases", returncode=0)
    for item in items:
        if case_of(item) is None:
            raise pytest.UsageError(f"{item.nodeid}: every conformance test is a case (@case(id, feature, rule=…, sources=…))")
    target = _preflight(options)
    config.stash[_TARGET] = target
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        found = case_of(item)
        assert found is not None
        dialect = _dialect_of(item)
        wanted = dialect is None or dialect in target.dialects
        if wanted and options.cases:
            wanted = any(fnmatch.fnmatchcase(found.full_id(dialect), pattern.lower()) for pattern in options.cases)
        (kept if wanted else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    if options.shuffle is not None:
        random.Random(options.shuffle).shuffle(kept)
    items[:] = kept
    report = Report(
        target.address,
        target.dialects,
        accepted=target.accepted,
        nexus=target.nexus,
        version=msgr.__version__,
        options={
            "timeout": options.timeout,
            "strict": options.strict,
            "without": list(options.without),
            "cases": list(options.cases),
            "shuffle": options.shuffle,
            "protocols": list(options.protocols) if options.protocols else None,
        },
    )
    config.stash[_REPORT] = report
    for item in kept:
        found = case_of(item)
        assert found is not None
        dialect = _dialect_of(item)
        report.expect(item.nodeid, found, dialect, rerun_command(options, target, found.full_id(dialect)))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """A case whose connection ended in a way no server on record ends it fails, even
    though its answer was right; with ``--msgr-strict``, so does one that ended
    NON-STRICT."""
    result = yield
    verdict = item.stash.get(_VERDICT, None)
    target = item.config.stash.get(_TARGET, None)
    if verdict is None or target is None:
        return result
    if verdict.grade == Grade.FAILED and verdict.ending is not None:
        item.stash[_FAILED_AFTER] = True
        raise ExchangeError(f"the connection was {verdict.ending.how}: {verdict.ending.why}", item.stash[_TRANSCRIPT])
    if target.strict and verdict.grade == Grade.NON_STRICT:
        item.stash[_FAILED_AFTER] = True
        reasons = "; ".join(n.removeprefix("NON-STRICT: ") for n in verdict.notes if n.startswith("NON-STRICT"))
        why = verdict.ending.why if verdict.ending is not None and verdict.ending.grade == Grade.NON_STRICT else ""
        raise ExchangeError(f"NON-STRICT, which --msgr-strict counts as a failure: {reasons or why}", item.stash[_TRANSCRIPT])
    return result


def _grade_of(rep: pytest.TestReport, call: pytest.CallInfo[None], verdict: Verdict | None) -> tuple[Grade, str]:
    """A phase's grade and message."""
    exc = call.excinfo.value if call.excinfo is not None else None
    if rep.passed:
        return (verdict.grade if verdict is not None else Grade.OK), ""
    if rep.skipped:
        if isinstance(exc, (Unsupported, NotRun)):
            return (Grade.UNSUPPORTED if isinstance(exc, Unsupported) else Grade.SKIPPED), str(exc.msg)
        text = str(rep.longrepr[2]).removeprefix("Skipped: ") if isinstance(rep.longrepr, tuple) else ""
        return Grade.SKIPPED, text
    if isinstance(exc, RateLimited):
        return Grade.RATE_LIMITED, exc.reason
    if isinstance(exc, SetupFailed):
        return Grade.SETUP_FAILED, exc.reason
    if isinstance(exc, ExchangeError):
        return Grade.FAILED, exc.reason
    if exc is not None:
        return Grade.FAILED, f"{type(exc).__name__}: {exc}".split("\nLines exchanged:")[0]
    return Grade.FAILED, str(rep.longrepr)[:2000]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Adds each case's grade to the report: its answer and ending grades, its
    message and notes, and the wire log of every connection it opened."""
    rep = yield
    report = item.config.stash.get(_REPORT, None)
    if report is None or item.nodeid not in report.results:
        return rep
    result = report.results[item.nodeid]
    verdict = item.stash.get(_VERDICT, None)
    result.duration += rep.duration
    if rep.when == "call" or not rep.passed:
        grade, message = _grade_of(rep, call, verdict)
        # Putting back in teardown can fail a case that passed, never excuse one.
        if result.grade is None or rep.when == "call" or (grade.counts_as_failure and not result.grade.counts_as_failure):
            result.grade, result.message = grade, message
    if rep.when == "teardown":
        transcript = item.stash.get(_TRANSCRIPT, None)
        result.wire = [] if transcript is None else transcript.to_records()
        if verdict is not None:
            result.notes = list(verdict.notes)
            result.ending = verdict.ending
            if result.grade is not None and result.grade.judged:
                body_failed = result.grade == Grade.FAILED and not item.stash.get(_FAILED_AFTER, False)
                result.answer = Grade.FAILED if body_failed else verdict.answer
    return rep


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Writes the report to each ``--msgr-report`` path."""
    report = session.config.stash.get(_REPORT, None)
    if report is None:
        return
    report.finished = datetime.datetime.now(datetime.timezone.utc)
    for path in conformance_options(session.config).reports:
        report.write(path)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """The matrix feature × dialect."""
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
    """The lines this case exchanges (its wire log in the report)."""
    t = Transcript()
    request.node.stash[_TRANSCRIPT] = t
    return t


@pytest.fixture
def msnp(request: pytest.FixtureRequest, target: Target, transcript: Transcript) -> Iterator[Harness]:
    """Connections and sign-ins for one case, recorded in its wire log, put back and
    closed at the end. A case of a feature declared missing, or in a dialect the
    server refused, is UNSUPPORTED before it starts."""
    found = case_of(request.node)
    dialect = _dialect_of(request.node)
    if found is not None and found.feature.key in target.without:
        raise Unsupported(f"declared missing with --msgr-without {found.feature.key}")
    if dialect is not None and dialect not in target.accepted and (found is None or found.id != VER_CASE):
        raise Unsupported(f"the server does not speak {dialect} (VER {dialect} was refused; see {dialect.lower()}/{VER_CASE})")
    verdict = Verdict()
    request.node.stash[_VERDICT] = verdict
    harness = Harness(target, transcript, verdict, request.config.stash.setdefault(_FINDINGS, {}))
    try:
        yield harness
    finally:
        harness.close()

