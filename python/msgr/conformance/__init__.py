"""A conformance suite for MSNP servers: checks, feature by feature and dialect by
dialect, where a server departs from the protocol as the project's notes describe it.

Run it against a server (it ships in the wheel; pytest finds it by name)::

    pytest --pyargs msgr.conformance --msgr-server HOST:PORT \\
        --msgr-user alice@example.com:PW --msgr-user bob@example.com:PW \\
        [--msgr-user carol@example.com:PW] [--msgr-nexus URL] \\
        [--msgr-protocols MSNP7,MSNP11] [--msgr-license ID:KEY] [--msgr-report report.html]

Each check is marked ``msgr_feature(name, source)``; at the end a table feature ×
dialect -> pass / fail / skip is printed and written to each ``--msgr-report`` path
(``.json`` or ``.html``). A failure shows the lines exchanged. ``features.FEATURES``
lists the features; ``docs/conformance.md`` describes each and what makes it skip.
"""
