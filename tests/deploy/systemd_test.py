"""deploy/systemd as installed: `systemd-analyze verify` and `security` pass on
the staged units, and the units agree with the binaries they start.

Usage: systemd_test.py STAGED_PREFIX
"""
import os
import re
import shlex
import shutil
import subprocess
import sys

from deploy_support import check, check_args, finish, flag_defaults, seconds

SKIP = 77
# Unit -> (binary, the variable its ExecStart expands, its example environment file).
UNITS = {
    "stockfeed-price-service.service": ("price_service", "PRICE_SERVICE_ARGS", "price_service.env"),
    "stockfeed-ws-gateway.service": ("ws_gateway", "WS_GATEWAY_ARGS", "ws_gateway.env"),
    "stockfeed-feeder.service": ("stockfeed_feeder", "FEEDER_ARGS", "feeder.env"),
}
RELOADABLE = {"stockfeed-price-service.service", "stockfeed-ws-gateway.service"}
# systemd-analyze security's exposure scale is 0..100 (shown as 0.0..10.0).
MAX_EXPOSURE = 20
REQUIRED_SANDBOX = {
    "DynamicUser": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
    "NoNewPrivileges": "yes", "CapabilityBoundingSet": "", "MemoryDenyWriteExecute": "yes",
    "SystemCallFilter": "@system-service",
}


def directives(path):
    """[(key, value)] of a unit file, in order (repeated keys kept)."""
    pairs = []
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            key, value = line.split("=", 1)
            pairs.append((key.strip(), value.strip()))
    return pairs


def env_file(path):
    values = {}
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if line and not line.startswith("#"):
            key, value = line.split("=", 1)
            values[key] = value
    return values


def main():
    prefix = os.path.abspath(sys.argv[1])
    if shutil.which("systemd-analyze") is None:
        print("SKIP: systemd-analyze missing (deploy/install-deps.sh installs the systemd package)")
        return SKIP
    unit_dir = os.path.join(prefix, "lib/systemd/system")
    dropin = os.path.join(unit_dir, "stockfeed-.service.d/sandbox.conf")
    units = sorted(u for u in os.listdir(unit_dir) if u.endswith(".service"))
    if units != sorted(UNITS):
        check(False, f"installed units {units}, expected {sorted(UNITS)}")

    # verify: exit 0 and not one warning (unknown keys only warn).
    paths = [os.path.join(unit_dir, u) for u in sorted(UNITS)]
    verify = subprocess.run(["systemd-analyze", "verify", "--man=no", *paths],
                            capture_output=True, text=True, cwd=unit_dir, timeout=120)
    output = (verify.stdout + verify.stderr).strip()
    if verify.returncode != 0 or output:
        check(False, f"systemd-analyze verify: exit {verify.returncode}\n{output}")
    else:
        print(f"systemd-analyze verify: {len(paths)} units clean")

    sandbox = dict(directives(dropin))
    sandbox_filters = [v for k, v in directives(dropin) if k == "SystemCallFilter"]
    for key, value in REQUIRED_SANDBOX.items():
        got = sandbox_filters if key == "SystemCallFilter" else [sandbox.get(key)]
        if value not in got:
            check(False, f"sandbox.conf: {key}={value} missing (has {got})")
    if not set(sandbox.get("RestrictAddressFamilies", "x").split()) <= {"AF_INET", "AF_INET6", "AF_UNIX"}:
        check(False, f"sandbox.conf: RestrictAddressFamilies={sandbox.get('RestrictAddressFamilies')}")

    for unit, (binary_name, args_var, env_name) in UNITS.items():
        path = os.path.join(unit_dir, unit)
        if not os.path.exists(path):
            continue
        security = subprocess.run(["systemd-analyze", "security", "--offline=yes", f"--threshold={MAX_EXPOSURE}",
                                   "--no-pager", path], capture_output=True, text=True, cwd=unit_dir, timeout=120)
        overall = re.search(r"Overall exposure level for \S+: (\S+ \S+)", security.stdout)
        print(f"{unit}: exposure {overall.group(1) if overall else '?'}")
        if security.returncode != 0:
            check(False, f"{unit}: exposure above {MAX_EXPOSURE / 10}:\n{security.stdout[-3000:]}{security.stderr}")

        unit_settings = dict(directives(path))
        exec_start = shlex.split(unit_settings["ExecStart"])
        binary = os.path.join(prefix, "bin", binary_name)
        if exec_start != [binary, f"${args_var}"]:
            check(False, f"{unit}: ExecStart={unit_settings['ExecStart']}, expected {binary} ${args_var}")
        reload = unit_settings.get("ExecReload", "")
        if unit in RELOADABLE and not re.fullmatch(r"/bin/kill -HUP \$MAINPID", reload):
            check(False, f"{unit}: ExecReload={reload!r}, expected /bin/kill -HUP $MAINPID")
        if unit_settings.get("Restart") not in ("on-failure", "always"):
            check(False, f"{unit}: Restart={unit_settings.get('Restart')}")

        # The example environment file: its flags are real and their values parse.
        env = env_file(os.path.join(prefix, "share/stockfeed/systemd", env_name))
        args = shlex.split(env.get(args_var, ""))
        if not args:
            check(False, f"{env_name}: {args_var} missing")
        errors = check_args(binary, args)
        if errors:
            check(False, f"{env_name}: {binary_name} rejects {args_var}: {errors}")
        settings = {**flag_defaults(binary), **{a[2:].split("=", 1)[0]: a.split("=", 1)[1] for a in args if "=" in a}}

        if binary_name == "ws_gateway":
            drain = seconds(settings["drain_timeout"])
            stop = seconds(unit_settings["TimeoutStopSec"])
            print(f"{unit}: TimeoutStopSec={stop:g}s, drain_timeout={drain:g}s")
            if stop < drain + 5:
                check(False, f"{unit}: TimeoutStopSec {stop}s leaves no room after --drain_timeout {drain}s")
            nofile = int(unit_settings["LimitNOFILE"])
            connections = int(settings["max_connections"])
            print(f"{unit}: LimitNOFILE={nofile}, max_connections={connections}")
            if nofile < connections + 256:
                check(False, f"{unit}: LimitNOFILE {nofile} cannot hold --max_connections {connections} (+256)")

    return finish("all systemd checks passed")


if __name__ == "__main__":
    sys.exit(main())
