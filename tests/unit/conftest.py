"""The outbound-HTTP fixtures (a loopback server, the egress allowlist set to loopback or emptied) for the guard's
unit tests; they live with the handler tests that use them too."""

from tests.handlers.outbound_http import allow_loopback, no_allowlist, server  # noqa: F401
