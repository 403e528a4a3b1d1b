"""Objects the app lets go of are forgotten by the core, and live sessions are kept
alive for their callbacks even when the app keeps no reference."""

from __future__ import annotations

import gc

import msgr
from msgr.testing import make_pair


def counts(messenger: msgr.Messenger) -> tuple[int, int]:
    """(lock objects, sessions) the core holds, after the release queue is handed over."""
    gc.collect()
    messenger.service._release_pending()
    return messenger._core.object_counts()


def test_dropped_lock_objects_are_forgotten() -> None:
    service = msgr.Service(seed=1)
    alice = service.sign_in("alice@example.com")
    base = counts(alice)
    kept = alice.session_manager()
    for _ in range(500):
        alice.session_manager().status
        alice.messenger_priv().status
    assert counts(alice) == (base[0] + 1, base[1])
    assert kept.status == msgr.LockStatus.INITIALIZED
    del kept
    assert counts(alice) == base


def test_sessions_never_invited_are_forgotten() -> None:
    pair = make_pair()
    for _ in range(300):
        pair.alice_manager.create_session()
    assert counts(pair.alice)[1] == 0


def test_live_sessions_keep_their_callbacks_without_a_reference() -> None:
    pair = make_pair()
    got: list[str] = []

    def on_invitation(session: msgr.MsgrSession, data: str | None) -> None:
        session.on_context_data = got.append  # the app keeps no reference
        session.accept()

    pair.bob_manager.on_invitation = on_invitation
    accepted: list[object] = []

    def invite() -> None:
        session = pair.alice_manager.create_session()
        session.application = pair.guid
        session.on_accepted = accepted.append
        session.invite("bob@example.com")
        session.send_context_data("one")

    invite()  # nobody holds either session now
    gc.collect()
    assert accepted == [None] and got == ["one"]
    assert counts(pair.alice)[1] == 1 and counts(pair.bob)[1] == 1
    # Both are live: the peer's sign-out ends them, and then they are let go.
    ended: list[object] = []
    (bob_session,) = [s for s in pair.bob._live.values()]
    bob_session.on_termination = lambda hr, data: ended.append(hr)
    del bob_session
    pair.alice.sign_out()
    assert ended == [msgr.HResult.SR_CONNECTION_FAILURE]
    assert counts(pair.alice)[1] == 0 and counts(pair.bob)[1] == 0


def test_an_ended_session_stays_usable_while_held() -> None:
    pair = make_pair()
    pair.bob_manager.on_invitation = lambda session, data: session.decline("no")
    session = pair.alice_manager.create_session()
    session.application = pair.guid
    session.invite("bob@example.com")
    gc.collect()
    counts(pair.alice)
    assert session.state == msgr.SessionState.DECLINED and session.user.sign_in_name == "bob@example.com"
    del session
    assert counts(pair.alice)[1] == 0


def test_release_over_the_network() -> None:
    with msgr.serve("127.0.0.1", 0, users=[("ann@example.com", "pw")]) as server:
        ann = msgr.connect(server.address, "ann@example.com", "pw")
        try:
            base = counts(ann)
            for _ in range(50):
                ann.messenger_priv()
            assert counts(ann) == base
        finally:
            ann.service.close()
