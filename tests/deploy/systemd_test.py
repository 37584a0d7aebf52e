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

from deploy_support import check, check_args, finish, flag_defaults, seconds, settings_from_env

SKIP = 77
# Unit -> (binary, its example environment file).
UNITS = {
    "stockfeed-price-service.service": ("price_service", "price_service.env"),
    "stockfeed-ws-gateway.service": ("ws_gateway", "ws_gateway.env"),
    "stockfeed-feeder.service": ("stockfeed_feeder", "feeder.env"),
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

    for unit, (binary_name, env_name) in UNITS.items():
        path = os.path.join(unit_dir, unit)
        if not os.path.exists(path):
            continue
        security = subprocess.run(["systemd-analyze", "security", "--offline=yes", f"--threshold={MAX_EXPOSURE}",
                                   "--no-pager", path], capture_output=True, text=True, cwd=unit_dir, timeout=120)
        overall = re.search(r"Overall exposure level for \S+: (\S+ \S+)", security.stdout)
        print(f"{unit}: exposure {overall.group(1) if overall else '?'}")
        check(security.returncode == 0, f"{unit}: exposure above {MAX_EXPOSURE / 10}:\n{security.stdout[-3000:]}{security.stderr}")

        unit_settings = dict(directives(path))
        binary = os.path.join(prefix, "bin", binary_name)
        check(shlex.split(unit_settings["ExecStart"]) == [binary],
              f"{unit}: ExecStart={unit_settings['ExecStart']}, expected {binary} (settings come from the environment)")
        check(unit_settings.get("EnvironmentFile") == f"-/etc/stockfeed/{env_name}",
              f"{unit}: EnvironmentFile={unit_settings.get('EnvironmentFile')}")
        reload = unit_settings.get("ExecReload", "")
        check(unit not in RELOADABLE or re.fullmatch(r"/bin/kill -HUP \$MAINPID", reload),
              f"{unit}: ExecReload={reload!r}, expected /bin/kill -HUP $MAINPID")
        check(unit_settings.get("Restart") in ("on-failure", "always"), f"{unit}: Restart={unit_settings.get('Restart')}")

        # The example environment file: every STOCKFEED_ variable is a real flag whose value parses.
        env = env_file(os.path.join(prefix, "share/stockfeed/systemd", env_name))
        flags = flag_defaults(binary)
        settings = {**flags, **settings_from_env(flags, env, env_name)}
        errors = check_args(binary, [], env)
        check(not errors, f"{env_name}: {binary_name} rejects it: {errors}")
        for name in env:
            check(name.startswith("STOCKFEED_") or name == "DATABASE_URL", f"{env_name}: {name} is read by nothing")

        if binary_name == "ws_gateway":
            drain = seconds(settings["drain_timeout"])
            stop = seconds(unit_settings["TimeoutStopSec"])
            print(f"{unit}: TimeoutStopSec={stop:g}s, drain_timeout={drain:g}s")
            check(stop >= drain + 5, f"{unit}: TimeoutStopSec {stop}s leaves no room after --drain_timeout {drain}s")
            nofile = int(unit_settings["LimitNOFILE"])
            connections = int(settings["max_connections"])
            print(f"{unit}: LimitNOFILE={nofile}, max_connections={connections}")
            check(nofile >= connections + 256, f"{unit}: LimitNOFILE {nofile} cannot hold --max_connections {connections} (+256)")

    return finish("all systemd checks passed")


if __name__ == "__main__":
    sys.exit(main())
