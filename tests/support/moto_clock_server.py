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
--exit-with-parent (engine/test-support/src/moto.rs passes it) the server stops when the process that
started it is gone.

    python moto_clock_server.py --host 127.0.0.1 --port 5000 --clock-file /tmp/clock \
        [--request-log /tmp/requests.jsonl]

Two more test-only changes, both where moto differs from AWS in ways apply's tests must not
inherit (../shared/notes/moto.md):
- `UpdateLoginProfile` without a password keeps the password (moto 5.2.5 sets it to None,
  which deletes the login profile; AWS only changes PasswordResetRequired).
- `ListServiceSpecificCredentials` exists (moto 5.2.5 does not implement it; a user created
  here never has such credentials, so the answer is an empty list, as AWS gives).
- `GenerateServiceLastAccessedDetails` / `GetServiceLastAccessedDetails` exist (moto 5.2.5 has
  neither). They serve canned data a test sets in --access-file (JSON, read on every call):
  `{"<entity ARN>": {"status": "COMPLETED" | "FAILED" | "IN_PROGRESS", "polls": N,
  "services": [{"ServiceNamespace": "s3", "ServiceName": "Amazon S3", "LastAuthenticated":
  "2026-10-30T00:00:00Z", "TrackedActionsLastAccessed": [{"ActionName": "GetObject",
  "LastAccessedTime": "..."}]}]}}`. A job answers IN_PROGRESS for its first `polls` reads
  (default 0), then `status`; an ARN not in the file completes with no services.
With --request-log, every IAM/STS request's action and identifying parameters are appended
to a JSON Lines file, so tests can count the calls that reached the server independently of
what iamwarden's journal says.

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
    parser.add_argument("--request-log", help="append each request's action here (JSON Lines)")
    parser.add_argument("--access-file", help="canned service last-accessed data (JSON)")
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

    patch_iam(args.request_log)
    patch_last_accessed(args.access_file)
    moto.server.main(["--host", args.host, "--port", str(args.port)])


# The parameters that say which resource a request is about (never secrets: no passwords,
# no key material).
LOGGED_PARAMS = (
    "UserName", "GroupName", "RoleName", "PolicyArn", "PolicyName", "AccessKeyId",
    "SerialNumber", "VersionId", "Status", "PasswordResetRequired", "SetAsDefault",
)


def patch_iam(request_log) -> None:
    import json

    import moto.core.responses as core_responses
    import moto.iam.models as iam_models
    import moto.iam.responses as iam_responses
    from moto.core.responses import ActionResult

    original_update = iam_models.IAMBackend.update_login_profile

    def update_login_profile(self, user_name, password, password_reset_required):
        if password is None:
            user = self.get_user(user_name)
            if not user.password:
                return original_update(self, user_name, password, password_reset_required)
            password = user.password
        return original_update(self, user_name, password, password_reset_required)

    iam_models.IAMBackend.update_login_profile = update_login_profile

    def list_service_specific_credentials(self):
        self.backend.get_user(self._get_param("UserName"))  # NoSuchEntity as on AWS
        return ActionResult({"ServiceSpecificCredentials": []})

    iam_responses.IamResponse.list_service_specific_credentials = list_service_specific_credentials

    if request_log:
        lock = threading.Lock()
        original_call = core_responses.BaseResponse.call_action

        def call_action(self):
            try:
                entry = {"action": self._get_action()}
                for name in LOGGED_PARAMS:
                    value = self._get_param(name)
                    if value is not None:
                        entry[name] = value
            except Exception as e:  # the log must never change a response
                entry = {"action": "?", "error": str(e)}
            result = original_call(self)
            status = result[0] if isinstance(result, tuple) else 200
            entry["status"] = status
            with lock, open(request_log, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")
            return result

        core_responses.BaseResponse.call_action = call_action


def patch_last_accessed(access_file) -> None:
    import json
    import uuid

    import moto.iam.responses as iam_responses
    from moto.core.responses import ActionResult
    from moto.core.utils import utcnow

    jobs = {}  # job id -> [entity ARN, reads so far, created]
    lock = threading.Lock()

    def canned() -> dict:
        if not access_file:
            return {}
        try:
            with open(access_file, encoding="utf-8") as f:
                return json.load(f)
        except FileNotFoundError:
            return {}

    def when(text):
        if text is None:
            return None
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))

    def generate(self):
        arn = self._get_param("Arn")
        job = "job-" + str(uuid.uuid4())
        with lock:
            jobs[job] = [arn, 0, utcnow()]
        return ActionResult({"JobId": job})

    def get(self):
        job = self._get_param("JobId")
        with lock:
            entry = jobs.get(job)
            if entry is not None:
                entry[1] += 1
        if entry is None:
            from moto.iam.exceptions import IAMNotFoundException

            raise IAMNotFoundException(f"Job {job} not found")
        arn, reads, created = entry
        data = canned().get(arn, {})
        status = data.get("status", "COMPLETED")
        if reads <= int(data.get("polls", 0)):
            status = "IN_PROGRESS"
        result = {
            "JobStatus": status,
            "JobType": "ACTION_LEVEL",
            "JobCreationDate": created,
            "ServicesLastAccessed": [],
        }
        if status == "IN_PROGRESS":
            return ActionResult(result)
        result["JobCompletionDate"] = utcnow()
        if status == "FAILED":
            result["Error"] = {"Message": data.get("error", "canned failure"), "Code": "ServiceFailure"}
            return ActionResult(result)
        services = []
        for s in data.get("services", []):
            item = {
                "ServiceNamespace": s["ServiceNamespace"],
                "ServiceName": s.get("ServiceName", s["ServiceNamespace"]),
                "TotalAuthenticatedEntities": 1 if s.get("LastAuthenticated") else 0,
            }
            if s.get("LastAuthenticated"):
                item["LastAuthenticated"] = when(s["LastAuthenticated"])
                item["LastAuthenticatedRegion"] = s.get("LastAuthenticatedRegion", "us-east-1")
                item["LastAuthenticatedEntity"] = arn
            actions = []
            for a in s.get("TrackedActionsLastAccessed", []):
                t = {"ActionName": a["ActionName"]}
                if a.get("LastAccessedTime"):
                    t["LastAccessedTime"] = when(a["LastAccessedTime"])
                    t["LastAccessedRegion"] = a.get("LastAccessedRegion", "us-east-1")
                actions.append(t)
            if actions:
                item["TrackedActionsLastAccessed"] = actions
            services.append(item)
        result["ServicesLastAccessed"] = services
        result["IsTruncated"] = False
        return ActionResult(result)

    iam_responses.IamResponse.generate_service_last_accessed_details = generate
    iam_responses.IamResponse.get_service_last_accessed_details = get


if __name__ == "__main__":
    main()
