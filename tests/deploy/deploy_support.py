"""What the deploy tests share: the binaries' own flag lists, value checks, ports."""
import re
import socket
import subprocess

_FLAG = re.compile(r"^    --(\w+) \((.*?)\);\s+default: (.*?);$", re.S | re.M)


def flag_defaults(binary):
    """{flag: default text} as the binary itself lists them (abseil's --helpfull)."""
    out = subprocess.run([binary, "--helpfull"], capture_output=True, text=True, timeout=60)
    text = out.stdout + out.stderr
    # One entry per "    --name (help); default: value;" block, help may wrap.
    blocks = re.split(r"\n(?=    --)", text)
    flags = {}
    for block in blocks:
        m = _FLAG.search(block.strip("\n") if block.startswith("    --") else block)
        if m:
            flags[m.group(1)] = m.group(3).strip().strip('"')
    if len(flags) < 5:
        raise AssertionError(f"{binary} --helpfull listed only {sorted(flags)}:\n{text}")
    return flags


def flag_name(arg):
    """'--name=value' / '--noname' / '--name' -> 'name' (the spelling, unnormalised)."""
    if not arg.startswith("--"):
        raise AssertionError(f"not a flag: {arg!r}")
    return arg[2:].split("=", 1)[0]


def check_args(binary, args):
    """Returns the errors abseil reports for `args` (unknown flags, bad values); [] if none.

    Runs `binary ARGS --helpfull`: abseil parses and checks every flag first and
    only then prints usage, so nothing starts listening."""
    out = subprocess.run([binary, *args, "--helpfull"], capture_output=True, text=True, timeout=60)
    return [line for line in (out.stdout + out.stderr).splitlines() if line.startswith("ERROR:")]


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
