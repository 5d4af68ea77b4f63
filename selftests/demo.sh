#!/bin/sh
# The mission's scenario as a story (run by `make demo` inside a VM, as root):
# the same unmodified client against a dead server, without tcptimeo and
# with one rule, with the measured times. See demo.py.
exec python3 "$(dirname "$0")/demo.py" "$@"
