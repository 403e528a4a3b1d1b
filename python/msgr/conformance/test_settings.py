"""The user's own settings: the privacy settings `GTC` and `BLP`, and the friendly name
(`REA` up to MSNP9, `PRP MFN` from MSNP10), which watchers hear of."""

from __future__ import annotations

from .features import PRIVACY, RENAME
from .harness import Harness
from .steps import Ns


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


@PRIVACY()
def test_gtc_and_blp_are_set_and_the_same_value_again_is_218(msnp: Harness, dialect: str) -> None:
    """`GTC <t> N` and `BLP <t> BL` are answered in the dialect's shape; the value the
    setting has already is `218`. Both are put back (`A`, `AL`) at the end."""
    ns = msnp.sign_in(msnp.a, dialect)
    lines = {c.name: c.args[-1] for c in ns.syn().lines if c.name in ("GTC", "BLP")}
    for name, other in (("GTC", {"A": "N", "N": "A"}), ("BLP", {"AL": "BL", "BL": "AL"})):
        current = lines.get(name)
        if current not in other:
            ns.conn.fail(f"the list download should carry {name} with one of {sorted(other)}, got {current!r}")
        assert current is not None
        set_setting(ns, name, other[current])
        again = ns.conn.call(name, other[current])
        if again.error_code != 218:
            ns.conn.fail(f"{name} to the value it has already should get 218, got {again.line!r}")
        set_setting(ns, name, current)


def own_name(ns: Ns) -> str:
    """The user's friendly name as the server sends it (URL-encoded): in `USR … OK` up
    to MSNP9, in the list download's `PRP MFN` from MSNP10."""
    if ns.number < 10:
        return ns.ok.args[3]
    prp = [c for c in ns.syn().lines if c.name == "PRP" and c.args[:1] == ("MFN",)]
    if not prp:
        ns.conn.fail("the list download carries no PRP MFN <name>")
    return prp[0].args[1]


def rename(ns: Ns, name: str) -> None:
    """`REA <t> <self> <name>` -> `REA <t> <version> <self> <name>` up to MSNP9;
    `PRP <t> MFN <name>` -> the same back, byte for byte, from MSNP10."""
    if ns.number < 10:
        reply = ns.conn.call("REA", ns.email, name)
        if reply.name != "REA" or len(reply.args) != 4 or not reply.args[1].isdigit() or reply.args[2:] != (ns.email, name):
            ns.conn.fail(f"expected REA {reply.trid} <version> {ns.email} {name}, got {reply.line!r}")
        return
    reply = ns.conn.call("PRP", "MFN", name)
    if reply.name != "PRP" or reply.args[1:] != ("MFN", name):
        ns.conn.fail(f"expected PRP {reply.trid} MFN {name} (the name byte for byte), got {reply.line!r}")


@RENAME()
def test_a_new_friendly_name_is_echoed_and_reaches_watchers(msnp: Harness, dialect: str) -> None:
    """The rename is echoed as sent (clients compare it byte for byte); a watcher gets
    an `NLN` with the same status and the new name. The old name is put back."""
    watcher = msnp.sign_in(msnp.b, dialect)
    watcher.ensure_on_forward_list(msnp.a.email)
    watcher.online()
    ns = msnp.online(msnp.a, dialect)
    watcher.conn.next_async("NLN")
    before = own_name(ns)
    wanted = "Conformance%20check%21"
    rename(ns, wanted)
    nln = watcher.conn.next_async("NLN")
    if nln.args[:2] != ("NLN", ns.email) or nln.args[2] not in (wanted, "Conformance%20check!"):
        watcher.conn.fail(f"a watcher hears the new name: expected NLN NLN {ns.email} {wanted} …, got {nln.line!r}")
    rename(ns, before)
