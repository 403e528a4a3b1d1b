"""The user's own settings: the privacy settings `GTC` and `BLP`, and the friendly name
(`REA` up to MSNP9, `PRP MFN` from MSNP10), which watchers hear of."""

from __future__ import annotations

from msgr.testing.wire import url_decode

from .cases import case
from .features import PRIVACY, RENAME
from .harness import Harness
from .sources import HYP_ERRORS, escargot, r2m, sdk, y111
from .steps import Ns
from .test_presence import heard


def set_setting(ns: Ns, name: str, value: str) -> None:
    """`GTC`/`BLP` set: `<name> <t> <version> <value>` up to MSNP9, the request echoed
    from MSNP10 (no list version)."""
    reply = ns.conn.call(name, value)
    if ns.number < 10:
        ok = reply.name == name and len(reply.args) == 3 and reply.args[1].isdigit() and reply.args[2] == value
        shape = f"{name} {reply.trid} <version> {value}"
    else:
        ok = reply.name == name and reply.args[1:] == (value,)
        shape = f"{name} {reply.trid} {value}"
    if not ok:
        ns.conn.fail(f"expected {shape}, got {reply.line!r}")


@case(
    "ns/privacy/1",
    PRIVACY,
    rule="""MSNP8/9: C: GTC 9 N, S: GTC 9 13 N; MSNP10–12: C: GTC 9 N, S: GTC 9 N (and BLP alike): MSNP8/9 replies
    insert the new list version, MSNP10+ replies echo the request. 218: already in that mode.""",
    sources=(y111("commands/gtc"), y111("commands/blp"), HYP_ERRORS, escargot("front/msn/msnp_ns.py _m_gtc, _m_blp"), r2m("src/notification_server/commands/gtc.rs, blp.rs")),
)
def test_gtc_and_blp_are_set_and_the_same_value_again_is_218(msnp: Harness, dialect: str) -> None:
    """`GTC` and `BLP` are answered in the dialect's shape; the current value again is `218`."""
    ns, lists = msnp.synced(msnp.a, dialect)
    for name, other in (("GTC", {"A": "N", "N": "A"}), ("BLP", {"AL": "BL", "BL": "AL"})):
        current = lists.setting(name)
        if current not in other:
            ns.conn.fail(f"the list download should carry {name} with one of {sorted(other)}, got {current!r}")
        assert current is not None

        def restore(h: Harness, name: str = name, value: str = current) -> None:
            again = h.restoring(ns.account, ns.dialect)
            if again.lists is not None and again.lists.setting(name) != value:
                set_setting(again, name, value)

        msnp.undo(f"{name} {current}", restore)
        set_setting(ns, name, other[current])
        again = ns.conn.call(name, other[current])
        if again.name == name:
            msnp.verdict.non_strict(f"{name} to the value it has already was accepted ({again.line!r}) where the original refuses with 218; the setting ends the same")
        else:
            msnp.refused(ns.conn, again, 218, f"{name} to the value it has already")
        set_setting(ns, name, current)
        msnp.undone(f"{name} {current}")


def own_name(ns: Ns) -> str:
    """The user's friendly name as the server sends it (URL-encoded): in `USR … OK` up
    to MSNP9, in the list download's `PRP MFN` from MSNP10."""
    if ns.number < 10:
        return ns.ok.args[3]
    lists = ns.lists or ns.syn()
    prp = [c for c in lists.lines if c.name == "PRP" and c.args[:1] == ("MFN",)]
    if not prp:
        ns.conn.fail("the list download carries no PRP MFN <name>")
    return prp[0].args[1]


def rename(msnp: Harness, ns: Ns, name: str) -> None:
    """`REA <t> <self> <name>` -> `REA <t> <version> <self> <name>` up to MSNP9;
    `PRP <t> MFN <name>` -> the same back from MSNP10. The name must come back as sent,
    byte for byte; the same name in another encoding is NON-STRICT."""
    if ns.number < 10:
        reply = ns.conn.call("REA", ns.email, name)
        ok = reply.name == "REA" and len(reply.args) == 4 and reply.args[1].isdigit() and reply.args[2] == ns.email
        shape = f"REA {reply.trid} <version> {ns.email} {name}"
    else:
        reply = ns.conn.call("PRP", "MFN", name)
        ok = reply.name == "PRP" and len(reply.args) == 3 and reply.args[1] == "MFN"
        shape = f"PRP {reply.trid} MFN {name}"
    echoed = reply.args[-1] if ok else ""
    if not ok or url_decode(echoed) != url_decode(name):
        ns.conn.fail(f"expected {shape}, got {reply.line!r}")
    if echoed != name:
        msnp.verdict.non_strict(
            f"the name came back re-encoded ({echoed!r} for {name!r}); clients that compare it byte for byte, as msnp11-sdk does, wait forever"
        )


@case(
    "ns/rename/1",
    RENAME,
    rule="""MSNP8/9: C: REA 11 alice@example.com Alice%20A., S: REA 11 15 alice@example.com Alice%20A.; MSNP10–12:
    C: PRP 11 MFN Alice%20A., S: PRP 11 MFN Alice%20A. Echo the name parameter byte for byte as received
    (clients such as msnp11-sdk compare it). A friendly-name change reaches contacts as a new NLN with the
    same status.""",
    sources=(y111("commands/rea"), y111("commands/prp"), escargot("front/msn/msnp_ns.py _m_rea, _m_prp"), r2m("src/notification_server/commands/prp.rs"), sdk("src/notification_server/commands/set_display_name.rs (waits for the echo)")),
)
def test_a_new_friendly_name_is_echoed_and_reaches_watchers(msnp: Harness, dialect: str) -> None:
    """A rename is echoed byte for byte, and a watcher gets `NLN` with the new name."""
    watcher = msnp.online(msnp.b, dialect)
    ns = msnp.online(msnp.a, dialect)
    heard(watcher, ns, "NLN", "NLN", strict=False)
    before = own_name(ns)
    msnp.undo(f"{ns.email}'s friendly name", lambda h: rename(h, h.restoring(ns.account, ns.dialect), before))
    wanted = "Conformance%20check%21"
    rename(msnp, ns, wanted)
    nln = watcher.conn.wait_for(
        lambda c: c.name == "NLN" and c.args[1:2] == (ns.email,) and len(c.args) > 2 and url_decode(c.args[2]) == url_decode(wanted),
        what=f"NLN NLN {ns.email} {wanted} …",
    )
    if nln.args[:2] != ("NLN", ns.email):
        watcher.conn.fail(f"a watcher hears the new name: expected NLN NLN {ns.email} {wanted} …, got {nln.line!r}")
