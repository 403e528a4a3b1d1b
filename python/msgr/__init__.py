"""msgr: the Windows Messenger 4.x service APIs (Lock and Key, Session Invite,
Messenger Private) with a Messenger service that speaks MSNP.

>>> import msgr
>>> service = msgr.Service(seed=1)
>>> service.license("demo@msnmsgr.com", "DEMOKEY")
>>> alice = service.sign_in("alice@example.com")
>>> manager = alice.session_manager()
>>> manager.on_lock_challenge = lambda cookie, challenge: manager.send_response(
...     "demo@msnmsgr.com", msgr.lock_response(challenge, "DEMOKEY"), cookie)
>>> manager.request_challenge(7)
>>> manager.status
<LockStatus.UNLOCKED: 4>
"""

from __future__ import annotations

from . import errors
from ._core import __version__
from .responses import lock_response, msnp11_response
from .enums import HResult, LockStatus, SessionFlags, SessionState
from .errors import *  # noqa: F403 - one class per HRESULT, listed in errors.__all__
from .errors import LockError, MsgrError, SessionError, error_for
from . import diagram as _diagram  # noqa: F401 - attaches transitions()/diagram() to the enums
from .alerts import AlertDelivery
from .contact import Contact
from .group import Group
from .counts import ClientCounts, ServiceCounts
from .eventlog import EventLog, LoggedEvent
from .lock import MsgrLock
from .manager import MsgrSessionManager
from .net import ServerHandle, connect, serve
from .passwords import hash_password
from .priv import MessengerPriv
from .service import Messenger, Service
from .session import MsgrSession
from .status import Status
from .trace import Trace, TraceEntry

__all__ = [
    "__version__",
    "Service",
    "Messenger",
    "serve",
    "connect",
    "ServerHandle",
    "MsgrLock",
    "MsgrSessionManager",
    "MessengerPriv",
    "MsgrSession",
    "Contact",
    "Group",
    "AlertDelivery",
    "ServiceCounts",
    "ClientCounts",
    "EventLog",
    "LoggedEvent",
    "Trace",
    "TraceEntry",
    "HResult",
    "LockStatus",
    "SessionState",
    "SessionFlags",
    "Status",
    "lock_response",
    "msnp11_response",
    "hash_password",
    "error_for",
    "MsgrError",
    "LockError",
    "SessionError",
    *errors.__all__[4:],
]
