"""The staged `cmake --install` tree is what deploy/docker's runtime stage
ships: both servers, the feeder and the dashboard's served files, runnable from
a copy of the prefix with no source or build tree, on the libraries that
deploy/docker/runtime-packages.txt installs.

Usage: install_test.py STAGED_PREFIX SOURCE_DIR BUILD_DIR
"""
import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import websockets

from deploy_support import check, failures, finish, free_port, http_get, port_open, wait_until

# deploy/docker/Dockerfile's USER and deploy/k8s's runAsUser.
UNPRIVILEGED = 65532
BINARIES = ["price_service", "ws_gateway", "stockfeed_feeder"]
WEB = "share/stockfeed/web"
# What the dashboard's page needs besides its own modules.
WEB_REQUIRED = ["index.html", "app.js", "style.css", "vendor/lightweight-charts.standalone.production.js"]
# Build-time files of web/ that must never be installed.
WEB_FORBIDDEN = re.compile(r"(^|/)(node_modules|package(-lock)?\.json|build\.sh)($|/)")
# Types the gateway serves (ws_gateway/core/static_files.cc) + the library's notices.
WEB_SERVED = re.compile(r".*\.(html|js|mjs|css|svg|png|ico|txt|woff2|LICENSE|NOTICE)$")
# In every debian:12 image already (Priority: required).
BASE_IMAGE = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g"}
NO_COMPILERS = re.compile(r"^(gcc|g\+\+|cpp|clang.*|cmake|ninja-build|build-essential|.*-dev)$")




def shared_libraries(binary):
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    missing = [line.strip() for line in out.splitlines() if "not found" in line]
    check(not missing, f"{binary}: libraries not found: {missing}")
    return sorted({m.group(1) for m in re.finditer(r"=> (/\S+)", out)})


def owning_packages(libraries):
    """{library path: Debian package}, in one dpkg -S call (usrmerge: / and /usr spellings)."""
    spellings = {}
    for library in libraries:
        real = os.path.realpath(library)
        bare = real.removeprefix("/usr")
        for candidate in (library, real, bare, "/usr" + bare):
            spellings.setdefault(candidate, library)
    out = subprocess.run(["dpkg", "-S", *spellings], capture_output=True, text=True)
    packages = {}
    for line in out.stdout.splitlines():
        package, path = (part.strip() for part in line.split(": ", 1))
        if path in spellings:
            packages[spellings[path]] = package.split(":", 1)[0]
    return packages


def check_tree(prefix):
    for name in BINARIES:
        path = os.path.join(prefix, "bin", name)
        check(os.access(path, os.X_OK), f"bin/{name} missing or not executable")
    web = os.path.join(prefix, WEB)
    for name in WEB_REQUIRED:
        check(os.path.isfile(os.path.join(web, name)), f"{WEB}/{name} missing (did web/build.sh run?)")
    for root, dirs, files in os.walk(web):
        for entry in dirs + files:
            rel = os.path.relpath(os.path.join(root, entry), web)
            check(not WEB_FORBIDDEN.search(rel), f"{WEB}/{rel}: a build file was installed")
        for entry in files:
            rel = os.path.relpath(os.path.join(root, entry), web)
            check(WEB_SERVED.match(rel), f"{WEB}/{rel}: not a file the dashboard serves")


def with_dependencies(packages):
    """The packages plus everything they depend on, as installed here (dpkg's view)."""
    closure, pending = set(), list(packages)
    while pending:
        package = pending.pop()
        if package in closure:
            continue
        closure.add(package)
        out = subprocess.run(["dpkg-query", "-W", "-f=${Depends},${Pre-Depends}", package],
                             capture_output=True, text=True)
        for alternative in re.split(r"[,|]", out.stdout):
            name = alternative.strip().split(" ", 1)[0].split(":", 1)[0]
            if name:
                pending.append(name)
    return closure


def check_libraries(prefix, source_dir, build_dir):
    """No path into the source/build tree; every library from a listed runtime package."""
    listed = set()
    for line in open(os.path.join(source_dir, "deploy/docker/runtime-packages.txt"), encoding="utf-8"):
        line = line.split("#", 1)[0].strip()
        if line:
            listed.add(line)
    for package in sorted(listed):
        check(not NO_COMPILERS.match(package), f"runtime-packages.txt lists build tool {package}")
    libraries = set()
    for name in sorted(os.listdir(os.path.join(prefix, "bin"))):  # every installed program
        binary = os.path.join(prefix, "bin", name)
        dynamic = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True, check=True).stdout
        for tree in (source_dir, build_dir):
            check(tree not in dynamic, f"bin/{name}: RPATH/RUNPATH points into {tree}")
        libraries.update(shared_libraries(binary))
    packages = owning_packages(libraries)
    for library in sorted(libraries - packages.keys()):
        check(False, f"{library} belongs to no Debian package")
    needed = set(packages.values())
    missing = sorted(needed - with_dependencies(listed | BASE_IMAGE))
    check(not missing, f"deploy/docker/runtime-packages.txt lacks {missing} (needed by the binaries)")
    print(f"runtime packages needed by the binaries: {' '.join(sorted(needed))}")






def wait_for(condition, timeout, what):
    return check(wait_until(condition, timeout), f"timed out after {timeout}s waiting for {what}")


def referenced_assets(path, body):
    """Local files a page or module loads: src/href attributes and ES imports."""
    text = body.decode("utf-8", "replace")
    refs = re.findall(r'(?:src|href)="([^"#:]+)"', text) if path.endswith(".html") else []
    refs += re.findall(r"""(?:import|from)\s*\(?\s*['"](\.{1,2}/[^'"]+)['"]""", text)
    base = path.rsplit("/", 1)[0] + "/"
    return {os.path.normpath(base + ref) for ref in refs}


def check_dashboard(port, web_root):
    """Every file the page loads, transitively, is served and is the installed copy."""
    pending, seen = ["/index.html"], set()
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        status, body = http_get(port, path if path != "/index.html" else "/")
        if not check(status == 200, f"GET {path}: {status}"):
            continue
        installed = os.path.join(web_root, path.lstrip("/"))
        check(os.path.isfile(installed) and open(installed, "rb").read() == body,
              f"GET {path}: not the installed file {installed}")
        pending += sorted(referenced_assets(path, body) - seen)
    print(f"dashboard: {len(seen)} files served from the installed copy")
    check(len(seen) >= len(WEB_REQUIRED), f"only {sorted(seen)} reached from index.html")


async def first_price(port):
    async with websockets.connect(f"ws://127.0.0.1:{port}/", open_timeout=10) as ws:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            message = json.loads(await asyncio.wait_for(ws.recv(), timeout=15))
            if message.get("type") == "price":
                return message
    return None


def run_relocated(stage, work):
    """Copies the prefix elsewhere and runs it from there, from a neutral directory."""
    prefix = os.path.join(work, "elsewhere/opt/stockfeed")
    shutil.copytree(stage, prefix, symlinks=True)
    grpc_port, http_port = free_port(), free_port()
    env = {"PATH": "/usr/bin:/bin", "HOME": work}
    # As the image and the pods run it: uid 65532, which owns nothing in the tree.
    run_as = []
    if os.geteuid() == 0:
        os.chmod(work, 0o755)
        run_as = ["setpriv", f"--reuid={UNPRIVILEGED}", f"--regid={UNPRIVILEGED}", "--clear-groups", "--"]
    print(f"running the installed programs as uid {UNPRIVILEGED if run_as else os.geteuid()}")
    logs = {name: open(os.path.join(work, f"{name}.log"), "w+") for name in ("price_service", "ws_gateway")}
    service = subprocess.Popen([*run_as, os.path.join(prefix, "bin/price_service"), f"--listen=127.0.0.1:{grpc_port}",
                                "--admin_listen=127.0.0.1:0", "--rate=50"],
                               cwd=work, env=env, stdout=logs["price_service"], stderr=subprocess.STDOUT)
    # The service first: the gateway's first connect then succeeds at once.
    wait_for(lambda: port_open(grpc_port), 30, "the installed price_service's port")
    gateway = subprocess.Popen([*run_as, os.path.join(prefix, "bin/ws_gateway"), f"--listen=127.0.0.1:{http_port}",
                                f"--upstream=127.0.0.1:{grpc_port}"],
                               cwd=work, env=env, stdout=logs["ws_gateway"], stderr=subprocess.STDOUT)
    try:
        if wait_for(lambda: http_get(http_port, "/readyz")[0] == 200, 30, "the installed gateway's /readyz"):
            web_root = os.path.join(prefix, WEB)
            check(f"web_root={web_root} " in open(logs["ws_gateway"].name).read(),
                  f"the installed gateway does not serve {web_root}")
            check_dashboard(http_port, web_root)
            price = asyncio.run(first_price(http_port))
            if check(price is not None, "no price over WebSocket from the installed gateway"):
                print(f"WebSocket price from the installed pair: {price['symbol']} {price['price']} seq {price['seq']}")
        feeder = subprocess.run([*run_as, os.path.join(prefix, "bin/stockfeed_feeder"), "--helpfull"],
                                capture_output=True, text=True, cwd=work, env=env)
        check("--database_url" in feeder.stdout + feeder.stderr, f"installed feeder does not start: {feeder.stderr}")
    finally:
        for process, name in ((gateway, "ws_gateway"), (service, "price_service")):
            process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                code = "still running after SIGTERM"
            check(code == 0, f"installed {name} exit: {code}")
        for name, log in logs.items():
            if failures:
                log.seek(0)
                print(f"--- {name} log ---\n{log.read()[-4000:]}")
            log.close()


def main():
    stage, source_dir, build_dir = (os.path.abspath(a) for a in sys.argv[1:4])
    check_tree(stage)
    check_libraries(stage, source_dir, build_dir)
    with tempfile.TemporaryDirectory(prefix="stockfeed-install-") as work:
        run_relocated(stage, work)
    return finish("installed tree: all checks passed")


if __name__ == "__main__":
    sys.exit(main())
