"""A conformance suite for MSNP servers: case by case and dialect by dialect, where a
server departs from the protocol as the original service and the servers on record
answer it.

Run it against a server (it ships in the wheel; pytest finds it by name)::

    pytest --pyargs msgr.conformance --msgr-server HOST:PORT \\
        --msgr-user alice@example.com:PW --msgr-user bob@example.com:PW \\
        --msgr-user carol@example.com:PW --msgr-nexus URL \\
        [--msgr-report report.html] [--msgr-report report.json] [--msgr-report report.xml]

Each case (``cases.CASES``; ``python -m msgr conformance list``) has a stable id such as
``msnp11/ns/usr/3``, quotes the rule it checks with its public sources, and ends with a
grade (``grades.Grade``): OK, NON-STRICT, INFORMATIONAL, UNSUPPORTED, SKIPPED,
SETUP-FAILED, RATE-LIMITED or FAILED. At the end a matrix feature × dialect is printed
and written to each ``--msgr-report`` path (``.json``, ``.html``, ``.xml`` for JUnit),
with the wire log of every case; ``python -m msgr conformance compare`` lays several
reports side by side.
"""
