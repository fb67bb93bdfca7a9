"""Checks a Dockerfile as parsed by Docker's own parser (the `dockerfile` package, Go's
moby/buildkit parser in its wheel): every base image is `scratch`, an earlier stage, or pinned
by digest (`@sha256:` and 64 hex digits); the final stage sets a non-root USER; no ADD fetches a
URL; ENTRYPOINT is in exec (JSON) form. Prints one line per problem and exits 1 when there is
any; run by tests/examples_lint.rs with .venv-lint's python."""

import re
import sys

import dockerfile

DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def problems(path):
    found = []
    stages = set()
    user = None
    entrypoint = None
    for c in dockerfile.parse_file(path):
        where = f"{path}:{c.start_line}"
        if c.cmd == "FROM":
            args = [v for v in c.value if v.upper() != "AS"]
            image = args[0] if args else ""
            if image != "scratch" and image not in stages and not DIGEST.search(image):
                found.append(f"{where}: base image {image!r} is not pinned by digest")
            if len(args) > 1:
                stages.add(args[1])
            user = None  # USER does not carry over into a new stage
            entrypoint = None
        elif c.cmd == "USER":
            user = c.value[0] if c.value else ""
        elif c.cmd == "ADD":
            for v in c.value:
                if re.match(r"^(https?|ftp|git)://|^git@", v):
                    found.append(f"{where}: ADD of a URL ({v}); fetch in a pinned step instead")
        elif c.cmd == "ENTRYPOINT":
            entrypoint = c
    if user is None:
        found.append(f"{path}: the final stage sets no USER (it would run as root)")
    elif user.split(":")[0] in ("root", "0"):
        found.append(f"{path}: the final stage runs as root (USER {user})")
    if entrypoint is not None and not entrypoint.json:
        found.append(f"{path}:{entrypoint.start_line}: ENTRYPOINT is not in exec (JSON) form")
    return found


def main():
    found = [p for path in sys.argv[1:] for p in problems(path)]
    for p in found:
        print(p)
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
