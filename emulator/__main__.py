"""`python -m emulator demo` (what `make demo` runs) and `python -m emulator serve` (the stack as a server)."""

import sys

USAGE = "usage: python -m emulator {demo,serve} [options]  (serve --help for its options)"

command, arguments = (sys.argv[1], sys.argv[2:]) if len(sys.argv) > 1 else ("", [])
if command == "demo":
    from .demo import main as demo

    sys.exit(demo())
if command == "serve":
    from .serve import main as serve

    sys.exit(serve(arguments))
print(USAGE, file=sys.stderr)
sys.exit(2)
