"""deploy/docker agrees with the rest of the repository (the image itself
cannot be built here; deploy_install_tree runs what it installs):
the build stage is CI's recipe, the runtime stage ships only the installed
prefix and runtime-packages.txt, and compose builds this Dockerfile.

Usage: docker_test.py SOURCE_DIR
"""
import json
import os
import re
import sys

import yaml

from deploy_support import check, finish


def stages(dockerfile):
    """[(FROM line, [instructions])], continuation lines joined."""
    text = re.sub(r"\\\n", " ", open(dockerfile).read())
    result = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            result.append((line, []))
        elif result:
            result[-1][1].append(line)
    return result


def main():
    source = os.path.abspath(sys.argv[1])
    docker = os.path.join(source, "deploy/docker")
    built = stages(os.path.join(docker, "Dockerfile"))
    if not check(len(built) == 2, f"Dockerfile has {len(built)} stages, expected build + runtime"):
        return finish("")
    (build_from, build), (runtime_from, runtime) = built

    # Build stage = what CI runs (deploy/test.sh): the same scripts and preset.
    ci = open(os.path.join(source, "deploy/test.sh")).read()
    ci_preset = re.search(r"cmake --preset (\w+)", ci).group(1)
    presets = [p["name"] for p in json.load(open(os.path.join(source, "CMakePresets.json")))["configurePresets"]]
    arg = re.search(r"^ARG PRESET=(\w+)$", "\n".join(build), re.M)
    check(build_from.startswith("FROM debian:12"), f"build stage: {build_from}")
    check(arg and arg.group(1) == ci_preset, f"build stage: ARG PRESET default is not CI's preset {ci_preset}")
    check(arg and arg.group(1) in presets, f"build stage: preset {arg and arg.group(1)} not in CMakePresets.json")
    run = " ".join(i for i in build if i.startswith("RUN "))
    for step in ("deploy/install-deps.sh", "web/build.sh"):
        check(step in ci and step in run, f"build stage does not run {step} as CI does")
    check(re.search(r'cmake --preset "?\$\{PRESET\}"?', run), "build stage does not configure with ${PRESET}")
    prefix = re.search(r"cmake --install \S+ --prefix (\S+)", run)
    if check(prefix, "build stage does not `cmake --install ... --prefix`"):
        prefix = prefix.group(1)

    # Runtime stage: Debian 12, the installed prefix, the listed libraries, no root.
    check(runtime_from.startswith("FROM debian:12"), f"runtime stage: {runtime_from}")
    copies = [i for i in runtime if i.startswith("COPY ")]
    check(f"COPY --from=build {prefix} {prefix}" in copies, f"runtime stage does not copy {prefix} from the build")
    check(all("--from=build" in c and prefix in c or "runtime-packages.txt" in c for c in copies),
          f"runtime stage copies more than the prefix and the package list: {copies}")
    for i in runtime:
        if i.startswith("RUN ") and "apt-get install" in i:
            check("runtime-packages.txt" in i and not re.search(r"install(-deps)?\.sh|build-essential|g\+\+|cmake", i),
                  f"runtime stage installs more than runtime-packages.txt: {i}")
    user = [i.split()[1] for i in runtime if i.startswith("USER ")]
    check(user and re.fullmatch(r"[1-9]\d*(:\d+)?", user[-1]), f"runtime stage USER {user}: not a numeric non-root uid")

    ignore = open(os.path.join(docker, "Dockerfile.dockerignore")).read().split()
    for path in ("build", "web/node_modules", ".git"):
        check(path in ignore, f"Dockerfile.dockerignore does not leave out {path}")

    # Compose builds this Dockerfile from the repository root.
    compose = yaml.safe_load(open(os.path.join(docker, "compose.yaml")))
    for name, service in compose["services"].items():
        if "build" in service:
            context = os.path.normpath(os.path.join(docker, service["build"]["context"]))
            check(context == source, f"compose {name}: build context {context} is not the repository root")
            check(os.path.join(context, service["build"]["dockerfile"]) == os.path.join(docker, "Dockerfile"),
                  f"compose {name}: builds {service['build']['dockerfile']}")
    return finish("Dockerfile and compose agree with CI and the install")


if __name__ == "__main__":
    sys.exit(main())
