"""Test-only: moto's server (pinned moto 5.2.5) with a clock that tests can move.

moto has no endpoint to set its clock. Every date it hands out comes from
`moto.core.utils.utcnow`, which other modules import by name (`moto.iam.models`: CreateDate,
access-key LastUsedDate and so the credential report; `moto.sts.models`: session expiry;
every other backend too). The HTTP Date header is not moved: in server mode werkzeug writes
it from the real clock. This wrapper replaces that
function with "real now + offset" before the server loads anything else, then rebinds every
copy already imported by name, so later imports (moto loads backends lazily) get the shifted
one as well. The offset is in seconds, read from --clock-file on every call: missing or empty
file = 0, anything else that is not an integer fails the request loudly. With
--exit-with-parent (tests/support/moto.rs passes it) the server stops when the process that
started it is gone.

    python moto_clock_server.py --host 127.0.0.1 --port 5000 --clock-file /tmp/clock

Never part of the product.
"""

import argparse
import datetime
import os
import sys
import threading
import time


def exit_with_parent() -> None:
    """Ends the server when the process that started it is gone (a test binary that was
    killed, or that kept its server in a static, which Rust never drops)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--clock-file", required=True)
    parser.add_argument(
        "--exit-with-parent", action="store_true", help="stop when the starting process is gone"
    )
    args = parser.parse_args()
    if args.exit_with_parent:
        exit_with_parent()
    clock_file = args.clock_file

    import moto.core.utils as core_utils

    real_utcnow = core_utils.utcnow

    def offset_seconds() -> int:
        try:
            with open(clock_file, encoding="utf-8") as f:
                text = f.read().strip()
        except FileNotFoundError:
            return 0
        if not text:
            return 0
        try:
            return int(text)
        except ValueError:
            raise ValueError(
                f"moto clock file {clock_file}: {text!r} is not a whole number of seconds"
            ) from None

    def shifted_utcnow() -> datetime.datetime:
        return real_utcnow() + datetime.timedelta(seconds=offset_seconds())

    # First the source, so every module imported from here on binds the shifted function...
    core_utils.utcnow = shifted_utcnow
    # ...then what the IAM path uses, and every copy imported by name before the patch.
    import moto.core.responses
    import moto.iam.models
    import moto.server
    import moto.sts.models

    rebound = []
    for name, module in list(sys.modules.items()):
        if name.startswith("moto") and getattr(module, "utcnow", None) is real_utcnow:
            setattr(module, "utcnow", shifted_utcnow)
            rebound.append(name)
    for module in (moto.iam.models, moto.core.responses, moto.sts.models):
        if module.utcnow is not shifted_utcnow:
            sys.exit(f"moto_clock_server: {module.__name__}.utcnow was not patched")
    print(
        f"moto_clock_server: clock from {clock_file} (rebound after import: "
        f"{', '.join(sorted(rebound)) or 'none'})",
        file=sys.stderr,
        flush=True,
    )

    moto.server.main(["--host", args.host, "--port", str(args.port)])


if __name__ == "__main__":
    main()
