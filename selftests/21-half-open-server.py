#!/usr/bin/env python3
# timeout: 120
"""The mission's scenario, server side: an unmodified server blocked in
recv() on an accepted connection whose client's node vanished. Under a
`direction in` rule (keepalive, idle 3, intvl 1, cnt 2, user_timeout
5000) it gets ETIMEDOUT within idle + intvl x cnt (+1 s) when idle and
within user_timeout (+1 s) of its reply when retransmitting; IPv4 and
IPv6. Without a rule it is still hanging 15 s after the client vanished.
See lib/halfopen.py for what is measured."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from tap import Tap                                   # noqa: E402
import halfopen                                       # noqa: E402

Tap.run(lambda t: halfopen.run(t, "srv", limit=15), halfopen.PLAN)
