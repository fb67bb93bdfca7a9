"""Test-only: moto's server with a controllable clock.

moto has no endpoint to set its clock. This wrapper replaces every `utcnow` moto imported
(`moto.core.utils.utcnow` and the names modules imported from it, `moto.iam.models` among
them) with "real now + offset", the offset in seconds read from --clock-file on every call, so
CreateDate, access-key last use and the credential report can be backdated. Never part of the
product.
"""
import argparse
import datetime
import importlib
import sys


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--clock-file", required=True)
    args = parser.parse_args()

    import moto.core.utils as core_utils

    original = core_utils.utcnow

    def shifted() -> datetime.datetime:
        try:
            with open(args.clock_file) as f:
                text = f.read().strip()
            offset = int(text) if text else 0
        except (OSError, ValueError):
            offset = 0
        return original() + datetime.timedelta(seconds=offset)

    # Load the IAM backend now so its module-level `from ... import utcnow` can be patched.
    for name in ("moto.iam.models", "moto.iam.responses", "moto.core.responses", "moto.sts.models"):
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    core_utils.utcnow = shifted
    for name, module in list(sys.modules.items()):
        if name.startswith("moto") and getattr(module, "utcnow", None) is original:
            setattr(module, "utcnow", shifted)

    from moto.server import main as server_main

    server_main(["-H", args.host, "-p", str(args.port)])


if __name__ == "__main__":
    main()
