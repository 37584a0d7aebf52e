"""What the deploy tests share: failures collected (not first-stop), the binaries'
own flag lists and value checks, ports, HTTP."""
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request

failures = []


def check(condition, message):
    """Records a failure and goes on, so one run lists every disagreement."""
    if not condition:
        failures.append(message)
        print("FAIL:", message)
    return bool(condition)


def finish(success_message):
    print(f"{len(failures)} failed" if failures else success_message)
    return 1 if failures else 0

# One flag of `PROGRAM --help`: "  --name (help)" then "      default: X; env: STOCKFEED_NAME".
_FLAG = re.compile(r"^  --(\w+) \(.*\)\n      default: (.*); env: (STOCKFEED_\w+)$", re.M)


def flag_defaults(binary):
    """{flag: default text} of the program's own flags, as its --help lists them."""
    out = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=60)
    flags = {}
    for name, default, env in _FLAG.findall(out.stdout):
        if env != env_name(name):
            raise AssertionError(f"{binary} --help: --{name} reads {env}, expected {env_name(name)}")
        flags[name] = "" if default == '""' else default
    if out.returncode != 0 or len(flags) < 5:
        raise AssertionError(f"{binary} --help (exit {out.returncode}) listed only {sorted(flags)}:\n{out.stdout}")
    return flags


def env_name(flag):
    """The environment variable every program reads a flag from (common/src/cli.cc)."""
    return "STOCKFEED_" + flag.upper()


def flag_name(arg):
    """'--name=value' / '--noname' / '--name' -> 'name' (the spelling, unnormalised)."""
    if not arg.startswith("--"):
        raise AssertionError(f"not a flag: {arg!r}")
    return arg[2:].split("=", 1)[0]


def check_args(binary, args, env=None):
    """The errors the program reports for `args` and STOCKFEED_* variables in
    `env` (unknown flags, bad values); [] if none.

    Runs `binary ARGS --helpfull`: the environment and then abseil check every
    flag first and only then print usage, so nothing starts listening."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("STOCKFEED_")}
    out = subprocess.run([binary, *args, "--helpfull"], capture_output=True, text=True, timeout=60,
                         env={**clean, **(env or {})})
    program = os.path.basename(binary)
    return [line for line in (out.stdout + out.stderr).splitlines()
            if line.startswith("ERROR:") or line.startswith(f"{program}: STOCKFEED_")]


def settings_from_env(flags, env, where):
    """{flag: value} that STOCKFEED_<FLAG> variables in `env` set; unknown names are failures."""
    settings = {}
    for name, value in env.items():
        if name.startswith("STOCKFEED_"):
            flag = name[len("STOCKFEED_"):].lower()
            if check(flag in flags, f"{where}: {name} names no flag"):
                settings[flag] = value
    return settings


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def seconds(duration):
    """abseil / systemd duration text ('5s', '1m30s', '100ms', '30') -> seconds."""
    text = duration.strip().replace(" ", "")
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise AssertionError(f"not a duration: {duration!r}")
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def wait_until(condition, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return bool(condition())


def http_get(port, path, timeout=5):
    """(status, body) of GET http://127.0.0.1:PORT/PATH; (None, b"") if nothing answers."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return None, b""
