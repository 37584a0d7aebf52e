"""deploy/k8s (base and every overlay) and deploy/docker/compose.yaml agree
with the binaries they run: every flag is a real flag whose value parses,
probes ask paths and ports the live processes serve, Services select
Deployments and reach their ports, kustomization files exist.

Usage: k8s_manifests_test.py SOURCE_DIR PRICE_SERVICE WS_GATEWAY STOCKFEED_FEEDER
"""
import base64
import copy
import os
import re
import shutil
import subprocess
import sys
import tempfile

import grpc
import yaml

from deploy_support import (check, check_args, finish, flag_defaults, flag_name, free_port, http_get,
                            port_open, seconds, settings_from_env, wait_until)



# --- kustomize, the part these manifests use -------------------------------------------

KNOWN_KUSTOMIZE_FIELDS = {"apiVersion", "kind", "resources", "namespace", "images", "patches"}


def strategic_merge(base, patch):
    """Kubernetes' strategic merge for what our patches touch: maps merge,
    lists of named items (containers, env, ports) merge by name, other lists replace."""
    if isinstance(base, dict) and isinstance(patch, dict):
        for key, value in patch.items():
            base[key] = strategic_merge(base[key], value) if key in base else copy.deepcopy(value)
        return base
    if isinstance(base, list) and isinstance(patch, list) and all(isinstance(i, dict) and "name" in i for i in patch):
        by_name = {item.get("name"): item for item in base if isinstance(item, dict)}
        for item in patch:
            if item["name"] in by_name:
                strategic_merge(by_name[item["name"]], item)
            else:
                base.append(copy.deepcopy(item))
        return base
    return copy.deepcopy(patch)


def render(directory):
    """The objects `kubectl kustomize DIRECTORY` would print (for the fields we use)."""
    path = os.path.join(directory, "kustomization.yaml")
    kustomization = yaml.safe_load(open(path))
    unknown = set(kustomization) - KNOWN_KUSTOMIZE_FIELDS
    if not check(not unknown, f"{path}: {sorted(unknown)} unknown to this test's renderer: extend render()"):
        return []
    objects = []
    for resource in kustomization.get("resources", []):
        target = os.path.normpath(os.path.join(directory, resource))
        if not check(os.path.exists(target), f"{path}: resource {resource} does not exist"):
            continue
        if os.path.isdir(target):
            objects += render(target)
        else:
            objects += [doc for doc in yaml.safe_load_all(open(target)) if doc]
    for patch_entry in kustomization.get("patches", []):
        patch_path = os.path.join(directory, patch_entry["path"])
        if not check(os.path.exists(patch_path), f"{path}: patch {patch_entry['path']} does not exist"):
            continue
        patch = yaml.safe_load(open(patch_path))
        targets = [o for o in objects if o["kind"] == patch["kind"] and o["metadata"]["name"] == patch["metadata"]["name"]]
        if check(len(targets) == 1, f"{patch_path}: patches {len(targets)} objects, expected 1"):
            strategic_merge(targets[0], patch)
    for image in kustomization.get("images", []):
        for container in all_containers(objects):
            name, _, tag = container["image"].partition(":")
            if name == image["name"]:
                container["image"] = f"{image.get('newName', name)}:{image.get('newTag', tag)}"
    if "namespace" in kustomization:
        for obj in objects:
            if obj["kind"] != "Namespace":
                obj["metadata"]["namespace"] = kustomization["namespace"]
    return objects


def all_containers(objects):
    for obj in objects:
        if obj["kind"] == "Deployment":
            spec = obj["spec"]["template"]["spec"]
            yield from spec.get("initContainers", []) + spec["containers"]


def rendered(directory):
    """render(), cross-checked against the real kustomize where kubectl is installed
    (it is not a Debian 12 package, so CI relies on render() alone)."""
    objects = render(directory)
    if shutil.which("kubectl"):
        out = subprocess.run(["kubectl", "kustomize", directory], capture_output=True, text=True, timeout=120)
        theirs = [doc for doc in yaml.safe_load_all(out.stdout) if doc] if out.returncode == 0 else None
        key = lambda o: (o["kind"], o["metadata"]["name"])
        check(theirs is not None and sorted(theirs, key=key) == sorted(objects, key=key),
              f"{directory}: kubectl kustomize renders differently from this test ({out.stderr.strip()})")
        print(f"{directory}: same rendering as kubectl kustomize")
    else:
        print(f"{directory}: kubectl not installed, rendering not cross-checked")
    return objects


# --- the live processes: what they really serve --------------------------------------------

# Which address flags of a program serve what. A flag the binary does not have
# (yet) is skipped, so a port the manifests give it is reported as serving nothing.
HTTP_FLAGS = {"ws_gateway": ["listen"], "price_service": ["admin_listen"]}
GRPC_FLAGS = {"price_service": ["listen"]}


class LiveSystem:
    """price_service (simulator) + ws_gateway on free loopback ports, every
    address flag of HTTP_FLAGS/GRPC_FLAGS they have on a port of its own."""

    def __init__(self, binaries, helps):
        self.ports = {}  # (program, flag) -> live port
        for program in ("price_service", "ws_gateway"):
            for flag in HTTP_FLAGS.get(program, []) + GRPC_FLAGS.get(program, []):
                if flag in helps[program]:
                    self.ports[(program, flag)] = free_port()
        grpc_port = self.ports[("price_service", "listen")]
        self.processes = [self._start(binaries, "price_service", [])]
        wait_until(lambda: port_open(grpc_port), 30)
        self.processes.append(self._start(binaries, "ws_gateway", [f"--upstream=127.0.0.1:{grpc_port}"]))
        if not wait_until(lambda: self.http_status("ws_gateway", "listen", "/readyz") == 200, 30):
            raise RuntimeError("the live gateway never became ready")

    def _start(self, binaries, program, extra):
        addresses = [f"--{flag}=127.0.0.1:{port}" for (p, flag), port in self.ports.items() if p == program]
        return subprocess.Popen([binaries[program], *addresses, *extra],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def http_status(self, program, flag, path):
        return http_get(self.ports[(program, flag)], path)[0]

    def grpc_health(self, service):
        """grpc.health.v1.Health/Check on the live price_service: 'SERVING', ... or the error."""
        request = b"\x0a" + bytes([len(service)]) + service.encode() if service else b""
        with grpc.insecure_channel(f"127.0.0.1:{self.ports[('price_service', 'listen')]}") as channel:
            call = channel.unary_unary("/grpc.health.v1.Health/Check")
            try:
                response = call(request, timeout=10)
            except grpc.RpcError as error:
                return error.code().name
        status = response[1] if response[:1] == b"\x08" else 0
        return {0: "UNKNOWN", 1: "SERVING", 2: "NOT_SERVING", 3: "SERVICE_UNKNOWN"}.get(status, str(status))

    def stop(self):
        for process in self.processes:
            process.terminate()
            process.wait(timeout=30)



# --- checks ------------------------------------------------------------------------------------

def port_of(address):
    return int(address.rsplit(":", 1)[1])


def flag_values(args):
    return {flag_name(a): a.split("=", 1)[1] for a in args if a.startswith("--") and "=" in a}


def reads_database_url(binary):
    """The binaries document the variable in --database_url's help."""
    out = subprocess.run([binary, "--help"], capture_output=True, text=True, timeout=60)
    return "$DATABASE_URL" in out.stdout + out.stderr


def labels_match(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def env_from(source, objects):
    """All keys of an envFrom ConfigMap/Secret in the rendering; None if it is not there."""
    for ref_key, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
        if ref_key in source:
            found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == source[ref_key]["name"]]
            if not found:
                return None
            return {k: str(v) for field in ("data", "stringData") for k, v in (found[0].get(field) or {}).items()}
    check(False, f"envFrom of unknown kind: {source}")
    return {}


def env_value(entry, objects, where):
    """The value an env entry gets, from the rendered ConfigMaps/Secrets; None if not there (yet)."""
    if "value" in entry:
        return entry["value"]
    source = entry.get("valueFrom", {})
    for ref_key, kind, data_fields in (("configMapKeyRef", "ConfigMap", ("data",)),
                                       ("secretKeyRef", "Secret", ("stringData", "data"))):
        if ref_key in source:
            ref = source[ref_key]
            found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == ref["name"]]
            if not found:
                return None
            for field in data_fields:
                if ref["key"] in (found[0].get(field) or {}):
                    return str(found[0][field][ref["key"]])
            check(False, f"{where}: {kind} {ref['name']} has no key {ref['key']}")
            return None
    check(False, f"{where}: env {entry.get('name')} has no value or known valueFrom")
    return None


def mounted_files(where, pod_spec, container, objects, flags, settings, secrets_provided):
    """{path: content} of the files --*_file settings name ([kid=]path lists). The root
    filesystem is read-only and holds none: each must be a key of a mounted Secret/ConfigMap."""
    mounts = {m["mountPath"].rstrip("/"): m["name"] for m in container.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in pod_spec.get("volumes", [])}
    files = {}
    for flag in (f for f in flags if f.endswith("_file") and settings.get(f)):
        for item in settings[flag].split(","):
            path = item.split("=", 1)[1] if "=" in item and not item.startswith("/") else item
            mount = next((m for m in mounts if path.startswith(m + "/")), None)
            if not check(mount, f"{where}: --{flag} {path} is on no volumeMount"):
                continue
            volume = volumes.get(mounts[mount], {})
            kind, name = (("Secret", volume["secret"]["secretName"]) if "secret" in volume else
                          ("ConfigMap", volume["configMap"]["name"]) if "configMap" in volume else (None, None))
            if not check(kind, f"{where}: --{flag} {path}: volume {mounts[mount]} is no Secret or ConfigMap"):
                continue
            found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
            if not found:
                check(not secrets_provided, f"{where}: --{flag}: {kind} {name} is not in the rendering")
                continue
            key = os.path.relpath(path, mount)
            items = (volume.get("secret") or volume.get("configMap")).get("items")
            if items:
                key = next((i["key"] for i in items if i["path"] == key), None)
            if "stringData" in found[0] and key in found[0]["stringData"]:
                files[path] = found[0]["stringData"][key]
            elif key in (found[0].get("data") or {}):
                value = found[0]["data"][key]
                files[path] = base64.b64decode(value).decode() if kind == "Secret" else value
            else:
                check(False, f"{where}: --{flag} {path}: {kind} {name} has no key {key}")
    return files


def check_starts_with_files(where, binary, program, args, env, files, live):
    """The program accepts the files as they would be mounted: it starts and listens."""
    with tempfile.TemporaryDirectory(prefix="stockfeed-mounted-") as root:
        def relocate(text):
            for path in files:
                text = text.replace(path, root + path)
            return text
        for path, content in files.items():
            os.makedirs(os.path.dirname(root + path), exist_ok=True)
            with open(root + path, "w") as out:
                out.write(content)
        port = free_port()
        overrides = [f"--listen=127.0.0.1:{port}"]
        if program == "ws_gateway":
            overrides.append(f"--upstream=127.0.0.1:{live.ports[('price_service', 'listen')]}")
        if program == "price_service":
            overrides.append(f"--admin_listen=127.0.0.1:{free_port()}")
        process = subprocess.Popen([binary, *map(relocate, args), *overrides],
                                   env={**os.environ, **{k: relocate(v) for k, v in env.items()}},
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            started = wait_until(lambda: port_open(port) or process.poll() is not None, 30) and process.poll() is None
            output = "" if started else process.communicate(timeout=10)[0]
            check(started, f"{where}: {program} does not start with its mounted files {sorted(files)}: {output[-2000:]}")
            print(f"{where}: starts with {', '.join(sorted(files))}")
        finally:
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)


def check_container(where, pod_spec, pod_annotations, container, objects, binaries, helps, live, secrets_provided):
    program = container.get("command", [None])[0]
    if not check(program in binaries, f"{where}: command {container.get('command')} is not one of {sorted(binaries)}"):
        return None
    binary, flags = binaries[program], helps[program]
    env = {}
    for source in container.get("envFrom", []):
        data = env_from(source, objects)
        check(data is not None or not secrets_provided, f"{where}: envFrom {source} is not in the rendering")
        env.update(data or {})
    for entry in container.get("env", []):
        value = env_value(entry, objects, where)
        if value is None and secrets_provided:
            check(False, f"{where}: env {entry['name']} refers to a ConfigMap/Secret that is not in the rendering")
        env[entry["name"]] = value if value is not None else "placeholder"
    used = set()

    def expand(arg):
        def substitute(match):
            used.add(match.group(1))
            if check(match.group(1) in env, f"{where}: $({match.group(1)}) in args is not in env"):
                return env[match.group(1)]
            return match.group(0)
        return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", substitute, arg)

    args = [expand(a) for a in container.get("args", [])]
    process_env = {k: v for k, v in env.items() if k.startswith("STOCKFEED_") or k == "DATABASE_URL"}
    errors = check_args(binary, args, process_env)
    check(not errors, f"{where}: {program} rejects its args {args} / environment: {errors}")
    for name in env:
        if name == "DATABASE_URL":
            check(reads_database_url(binary), f"{where}: {program} does not read DATABASE_URL")
        elif not name.startswith("STOCKFEED_"):
            check(name in used, f"{where}: env {name} is used by no arg")
    settings = {**flags, **settings_from_env(flags, env, where), **flag_values(args)}

    files = mounted_files(where, pod_spec, container, objects, flags, settings, secrets_provided)
    if files:
        check_starts_with_files(where, binary, program, args, process_env, files, live)

    # Ports: each containerPort is an address flag's port; probes ask what the live process serves there.
    ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    candidates = ["listen"] + HTTP_FLAGS.get(program, []) + GRPC_FLAGS.get(program, [])
    address_flags = [f for f in dict.fromkeys(candidates) if f in flags]
    flag_of_port = {port_of(settings[f]): f for f in address_flags if settings.get(f)}
    listen_port = port_of(settings["listen"])
    check(listen_port in ports.values(), f"{where}: --listen port {listen_port} is not a containerPort {ports}")
    for name, port in ports.items():
        check(port in flag_of_port, f"{where}: containerPort {name}={port} is none of {address_flags}")

    def probe_flag(port, kinds):
        """The address flag serving a probe's port, if it serves that kind of probe."""
        number = ports.get(port) if isinstance(port, str) else port
        flag = flag_of_port.get(number)
        check(flag in kinds.get(program, []), f"{where}: port {port} of {program} serves no such probe "
              f"(it is {'--' + flag if flag else 'no address flag'}; probes of this kind: {kinds.get(program, [])})")
        return flag if flag in kinds.get(program, []) else None

    # Scrape annotations name a port and path the live process serves metrics on.
    if pod_annotations.get("prometheus.io/scrape") == "true":
        flag = probe_flag(int(pod_annotations.get("prometheus.io/port", 0)), HTTP_FLAGS)
        path = pod_annotations.get("prometheus.io/path", "/metrics")
        if flag:
            status, body = http_get(live.ports[(program, flag)], path)
            check(status == 200 and b"# TYPE" in body, f"{where}: scrape {path} on live {program} --{flag}: {status}")

    for probe_name in ("readinessProbe", "livenessProbe"):
        probe = container.get(probe_name)
        if not check(probe, f"{where}: no {probe_name}"):
            continue
        if "httpGet" in probe:
            get = probe["httpGet"]
            flag = probe_flag(get["port"], HTTP_FLAGS)
            if flag:
                status = live.http_status(program, flag, get["path"])
                check(status == 200, f"{where}: {probe_name} GET {get['path']} on live {program} --{flag}: {status}")
        elif "grpc" in probe:
            if probe_flag(probe["grpc"]["port"], GRPC_FLAGS):
                health = live.grpc_health(probe["grpc"].get("service", ""))
                check(health == "SERVING", f"{where}: {probe_name} gRPC health {probe['grpc'].get('service')!r}: {health}")
        elif "tcpSocket" in probe:
            check(ports.get(probe["tcpSocket"]["port"], probe["tcpSocket"]["port"]) in flag_of_port,
                  f"{where}: {probe_name} tcp port {probe['tcpSocket']['port']} is none of {address_flags}")
        else:
            check(False, f"{where}: {probe_name} of unknown kind {sorted(probe)}")

    # Non-root, read-only, no privileges (pod or container level).
    pod_security, security = pod_spec.get("securityContext", {}), container.get("securityContext", {})
    merged = {**pod_security, **security}
    check(merged.get("runAsNonRoot") is True, f"{where}: runAsNonRoot is not true")
    check(security.get("readOnlyRootFilesystem") is True, f"{where}: readOnlyRootFilesystem is not true")
    check(security.get("allowPrivilegeEscalation") is False, f"{where}: allowPrivilegeEscalation is not false")
    check(security.get("capabilities", {}).get("drop") == ["ALL"], f"{where}: capabilities do not drop ALL")
    check(merged.get("seccompProfile", {}).get("type") == "RuntimeDefault", f"{where}: seccompProfile not RuntimeDefault")
    resources = container.get("resources", {})
    check({"cpu", "memory"} <= set(resources.get("requests", {})), f"{where}: no cpu/memory requests")
    check("memory" in resources.get("limits", {}), f"{where}: no memory limit")

    if program == "ws_gateway":
        drain = seconds(settings["drain_timeout"])
        pre_stop = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
        pause = float(pre_stop[1]) if pre_stop[:1] == ["sleep"] else 0
        grace = pod_spec.get("terminationGracePeriodSeconds", 30)
        print(f"{where}: terminationGracePeriodSeconds={grace}, preStop {pause:g}s + drain_timeout {drain:g}s")
        check(grace >= pause + drain + 5, f"{where}: grace {grace}s < preStop {pause}s + drain {drain}s + 5s")
    return {"program": program, "listen_port": listen_port, "ports": ports, "settings": settings}


def check_rendering(name, objects, binaries, helps, live, secrets_provided):
    print(f"== {name}: {len(objects)} objects")
    deployments = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Deployment"}
    services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
    programs = {}
    for dep_name, deployment in deployments.items():
        spec = deployment["spec"]
        labels = spec["template"]["metadata"]["labels"]
        check(labels_match(spec["selector"]["matchLabels"], labels), f"{name}/{dep_name}: selector does not match its pods")
        pod = spec["template"]
        containers = [check_container(f"{name}/{dep_name}/{c['name']}", pod["spec"], pod["metadata"].get("annotations", {}),
                                      c, objects, binaries, helps, live, secrets_provided)
                      for c in pod["spec"]["containers"]]
        programs[dep_name] = [c for c in containers if c]
    by_program = {c["program"]: dep for dep, cs in programs.items() for c in cs}
    check({"price_service", "ws_gateway"} <= set(by_program), f"{name}: Deployments for {sorted(by_program)} only")
    if "price_service" in by_program:
        replicas = deployments[by_program["price_service"]]["spec"].get("replicas", 1)
        check(replicas >= 2, f"{name}: price_service has {replicas} replica(s); failover needs 2")

    selected = {}
    for svc_name, service in services.items():
        matches = [d for d, dep in deployments.items()
                   if labels_match(service["spec"]["selector"], dep["spec"]["template"]["metadata"]["labels"])]
        if not check(len(matches) == 1, f"{name}: Service {svc_name} selects {matches}, expected one Deployment"):
            continue
        selected[svc_name] = matches[0]
        container_ports = {}
        for c in programs[matches[0]]:
            container_ports.update(c["ports"])
        for port in service["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            ok = target in container_ports if isinstance(target, str) else target in container_ports.values()
            check(ok, f"{name}: Service {svc_name} targetPort {target} is no containerPort of {matches[0]}")

    # The gateway's upstream is a headless Service in front of price_service, on its port.
    for c in programs.get(by_program.get("ws_gateway"), []):
        host, port = c["settings"]["upstream"].rsplit(":", 1)
        svc_name = host.split(".")[0]
        service = services.get(svc_name)
        if check(service, f"{name}: --upstream host {host} is no Service"):
            check(service["spec"].get("clusterIP") == "None", f"{name}: Service {svc_name} is not headless")
            check(selected.get(svc_name) == by_program.get("price_service"), f"{name}: {svc_name} does not select price_service")
            check(int(port) in [p["port"] for p in service["spec"]["ports"]], f"{name}: --upstream port {port} not on {svc_name}")

    for obj in objects:
        kind, obj_name = obj["kind"], obj["metadata"]["name"]
        if kind == "PodDisruptionBudget":
            matches = [d for d, dep in deployments.items()
                       if labels_match(obj["spec"]["selector"]["matchLabels"], dep["spec"]["template"]["metadata"]["labels"])]
            check(len(matches) == 1, f"{name}: PDB {obj_name} selects {matches}")
        if kind == "HorizontalPodAutoscaler":
            target = obj["spec"]["scaleTargetRef"]
            check(target["kind"] == "Deployment" and target["name"] in deployments, f"{name}: HPA {obj_name} targets {target}")
            check(target["name"] == by_program.get("ws_gateway"), f"{name}: HPA {obj_name} does not scale the gateways")
            check("replicas" not in deployments.get(target["name"], {}).get("spec", {}),
                  f"{name}: {target['name']} sets replicas that its HPA owns")
            check(obj["spec"]["minReplicas"] >= 2, f"{name}: HPA {obj_name} allows a single gateway")


def check_compose(path, binaries, helps):
    print(f"== {os.path.relpath(path)}")
    services = yaml.safe_load(open(path))["services"]
    commands = {}
    for svc_name, service in services.items():
        command = service.get("command")
        if not command:
            continue
        program = command[0]
        if not check(program in binaries, f"compose {svc_name}: {program} is not one of our programs"):
            continue
        errors = check_args(binaries[program], command[1:])
        check(not errors, f"compose {svc_name}: {program} rejects {command[1:]}: {errors}")
        commands[svc_name] = (program, {**helps[program], **flag_values(command[1:])})
        for name in service.get("environment", {}):
            check(name != "DATABASE_URL" or reads_database_url(binaries[program]),
                  f"compose {svc_name}: {program} does not read DATABASE_URL")
    for svc_name, (program, settings) in commands.items():
        if program == "ws_gateway":
            host, port = settings["upstream"].rsplit(":", 1)
            target = commands.get(host)
            if check(target and target[0] == "price_service", f"compose {svc_name}: --upstream {host} is no price_service"):
                check(port_of(target[1]["listen"]) == int(port), f"compose {svc_name}: --upstream port {port} is not its --listen")


def main():
    source_dir = sys.argv[1]
    binaries = dict(zip(["price_service", "ws_gateway", "stockfeed_feeder"], sys.argv[2:5]))
    helps = {}
    for program, binary in binaries.items():
        helps[program] = flag_defaults(binary)
    k8s = os.path.join(source_dir, "deploy/k8s")
    live = LiveSystem(binaries, helps)
    try:
        check_rendering("base", rendered(os.path.join(k8s, "base")), binaries, helps, live, secrets_provided=False)
        overlays = os.path.join(k8s, "overlays")
        for overlay in sorted(os.listdir(overlays)):
            check_rendering(f"overlays/{overlay}", rendered(os.path.join(overlays, overlay)), binaries, helps, live,
                            secrets_provided=True)
    finally:
        live.stop()
    check_compose(os.path.join(source_dir, "deploy/docker/compose.yaml"), binaries, helps)
    return finish("manifests agree with the binaries")


if __name__ == "__main__":
    sys.exit(main())
