#!/usr/bin/env python3
# timeout: 120
"""The mission's scenario, client side: an unmodified client blocked in
recv() against a server whose node vanished (simulated as
../shared/notes/half-open-testing.md says). Under a `direction out` rule
(keepalive, idle 3, intvl 1, cnt 2, user_timeout 5000) it gets ETIMEDOUT
within idle + intvl x cnt (+1 s) of the last packet when idle, and within
user_timeout (+1 s) of its request when retransmitting; IPv4 and IPv6.
Without a rule it is still hanging 15 s after the server vanished.
See lib/halfopen.py for what is measured."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tap import Tap                                   # noqa: E402
import halfopen                                       # noqa: E402

Tap.run(lambda t: halfopen.run(t, "cli", limit=15), halfopen.PLAN)
