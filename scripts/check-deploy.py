#!/usr/bin/env python3
"""The checks behind scripts/check-deploy: validates the deployment files offline.

Schemas: the Compose file against the compose-spec schema (check-jsonschema's vendored
copy), every Kubernetes manifest against the Kubernetes schemas (kubernetes-validate,
strict), each NATS config with nats-server itself (`-t`). Then what no schema knows:
every registered service (bin/mcf/src/system.rs REGISTRY) and the portal are deployed
alike in both places (two replicas, probes, its database, its peer URL, its route), every
file the kustomization names exists, JetStream fsyncs every write, every MCF_ variable
names a configuration key (mcf refuses to start otherwise), secrets come from the
environment or a Secret and never sit in a file.

`--self-test` breaks copies of the files in the ways above, one at a time, and fails
unless the check catches each: a check that cannot fail is no check.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import tomllib
from pathlib import Path

try:
    import kubernetes_validate
    import yaml
except ImportError as e:
    raise SystemExit(f"check-deploy: the Python package {e.name} is missing (scripts/setup installs it)")

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

# The Kubernetes versions the manifests must be valid for: the oldest we support and the
# newest kubernetes-validate bundles.
K8S_VERSIONS = ("1.33.0", "1.37.0")
# Not a registered service (no database, no registry entry), deployed like one.
PORTAL = "portal"
# How many replicas every service runs with, and NATS nodes.
REPLICAS = 2
NATS_NODES = 3


class Tools:
    """The external validators, found where scripts/setup installs them. Each answer is
    remembered by the file's content, so the self-test's many runs stay fast."""

    def __init__(self) -> None:
        scripts = sysconfig.get_path("scripts")

        def find(name: str) -> str:
            for candidate in (os.path.join(scripts, name), shutil.which(name)):
                if candidate and os.access(candidate, os.X_OK):
                    return candidate
            raise SystemExit(f"check-deploy: {name} is missing (scripts/setup installs it)")

        self.check_jsonschema = find("check-jsonschema")
        self.nats_server = os.environ.get("MCF_NATS_SERVER") or find("nats-server")
        if not os.access(self.nats_server, os.X_OK):
            raise SystemExit(f"check-deploy: nats-server {self.nats_server} is missing")
        self.answers: dict[tuple, tuple[int, str]] = {}

    def run(self, argv: list[str], path: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
        """Runs `argv` (which names `path`) unless it already ran on the same content."""
        key = (tuple(argv[:-1]), path.read_bytes(), tuple(sorted((env or {}).items())))
        if key not in self.answers:
            done = subprocess.run(argv, env=dict(os.environ, **(env or {})), capture_output=True, text=True)
            self.answers[key] = (done.returncode, (done.stdout + done.stderr).strip())
        return self.answers[key]


@functools.lru_cache(maxsize=None)
def k8s_problem(doc_json: str, version: str) -> str | None:
    """What is wrong with one manifest for one Kubernetes version, or None."""
    try:
        kubernetes_validate.validate(json.loads(doc_json), version, strict=True)
    except kubernetes_validate.ValidationError as e:
        at = ".".join(str(x) for x in e.absolute_path)
        return f"invalid for Kubernetes {version} at {at or '(top)'}: {e.message}"
    except (kubernetes_validate.SchemaNotFoundError, kubernetes_validate.utils.VersionNotSupportedError) as e:
        return e.message
    return None


class Problems:
    """Collects what is wrong, so one run reports everything."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, what: str) -> None:
        self.items.append(f"{where}: {what}")

    def expect(self, ok: bool, where: str, what: str) -> None:
        if not ok:
            self.add(where, what)


# ---------------------------------------------------------------------------------------
# What the code says: the registered services and the configuration keys.


def registered_services(root: Path) -> list[str]:
    """The names of REGISTRY's services, in its order (each crate's `spec!` name)."""
    system = (root / "bin/mcf/src/system.rs").read_text()
    block = re.search(r"pub const REGISTRY: &\[ServiceSpec\] = &\[(.*?)\];", system, re.S)
    if not block:
        raise SystemExit("check-deploy: REGISTRY not found in bin/mcf/src/system.rs")
    crates = re.findall(r"(\w+)::SPEC", block.group(1))
    names = {}
    for manifest in root.glob("services/*/Cargo.toml"):
        package = re.search(r'^name = "([^"]+)"', manifest.read_text(), re.M)
        lib = manifest.parent / "src/lib.rs"
        spec = re.search(r'spec!\s*\{.*?\bname:\s*"([^"]+)"', lib.read_text(), re.S) if lib.exists() else None
        if package and spec:
            names[package.group(1).replace("-", "_")] = spec.group(1)
    missing = [c for c in crates if c not in names]
    if not crates or missing:
        raise SystemExit(f"check-deploy: no service name found for REGISTRY entries {missing or crates}")
    return [names[c] for c in crates]


def configuration_keys(root: Path, services: list[str]) -> set[tuple[str, ...]]:
    """Every configuration key as a path (`("hiring", "public_limits", "trusted_proxies")`):
    the core sections and the registered services' and apps' own sections."""
    keys: set[tuple[str, ...]] = set()

    def walk(table: dict, path: tuple[str, ...]) -> None:
        for k, v in table.items():
            if isinstance(v, dict):
                walk(v, path + (k,))
            else:
                keys.add(path + (k,))

    walk(tomllib.loads((root / "config/default.toml").read_text()), ())
    for section in sorted(root.glob("services/*/config.toml")) + sorted(root.glob("apps/*/config.toml")):
        table = tomllib.loads(section.read_text())
        for name, body in table.items():
            if section.parts[-3] == "apps" or name in services:
                walk({name: body}, ())
    for name in services:
        keys.add(("databases", name))
        keys.add(("peers", name))
    return keys


def check_mcf_env(p: Problems, where: str, env: dict[str, str], keys: set[tuple[str, ...]]) -> None:
    """Every MCF_ variable must name a key (mcf stops at start on an unknown one)."""
    for name in env:
        if not name.startswith("MCF_"):
            continue
        path = tuple(part.lower() for part in name[4:].split("__"))
        p.expect(path in keys, where, f"{name} names no configuration key (mcf would refuse to start)")


def check_service_env(p: Problems, where: str, env: dict[str, str], services: list[str]) -> None:
    """The settings every process needs: databases and peers of exactly the registered
    services, NATS, IAM's URL, JSON logs."""
    for kind in ("DATABASES", "PEERS"):
        given = {k.split("__", 1)[1].lower() for k in env if k.startswith(f"MCF_{kind}__")}
        for name in sorted(set(services) - given):
            p.add(where, f"MCF_{kind}__{name.upper()} is missing (service {name} is registered)")
        for name in sorted(given - set(services)):
            p.add(where, f"MCF_{kind}__{name.upper()}: {name} is not a registered service (mcf would refuse to start)")
    for name in services:
        db = env.get(f"MCF_DATABASES__{name.upper()}", "")
        p.expect(db == "" or db.startswith("postgres://") and db.endswith(f"/mcf_{name}"), where,
                 f"MCF_DATABASES__{name.upper()} should be postgres://.../mcf_{name}, not {db!r}")
        userinfo = db.split("://", 1)[-1].split("@", 1)[0] if "@" in db else ""
        p.expect(":" not in userinfo, where, f"MCF_DATABASES__{name.upper()} carries a password: use PGPASSWORD from a secret")
        peer = env.get(f"MCF_PEERS__{name.upper()}")
        expected = f"http://{name}:8080/api/{name}"
        p.expect(peer is None or peer == expected, where, f"MCF_PEERS__{name.upper()} should be {expected}, not {peer!r}")
    for required in ("MCF_NATS__URL", "MCF_AUTH__ISSUER", "MCF_HTTP__LISTEN"):
        p.expect(bool(env.get(required)), where, f"{required} is missing")
    p.expect(env.get("MCF_LOG__FORMAT") == "json", where, "MCF_LOG__FORMAT must be json")


def check_nats_conf(p: Problems, path: Path, tools: Tools, server_name_var: str) -> None:
    text = path.read_text()
    lines = [line.split("#", 1)[0] for line in text.splitlines()]
    p.expect(any(re.fullmatch(r"\s*sync_interval\s*:\s*always\s*", line) for line in lines), str(path),
             "JetStream needs sync_interval: always (every write fsynced)")
    routes = re.findall(r"nats://[\w.-]+:6222", "\n".join(lines))
    p.expect(len(set(routes)) == NATS_NODES, str(path), f"{NATS_NODES} cluster routes expected, found {len(set(routes))}")
    code, out = tools.run([tools.nats_server, "-t", "-c", str(path)], path, {server_name_var: "check"})
    p.expect(code == 0, str(path), f"nats-server -t: {out}")


def init_databases(p: Problems, path: Path, services: list[str]) -> None:
    created = set(re.findall(r"CREATE DATABASE mcf_(\w+)", path.read_text()))
    for name in sorted(set(services) - created):
        p.add(str(path), f"no CREATE DATABASE mcf_{name}")
    for name in sorted(created - set(services)):
        p.add(str(path), f"creates mcf_{name}, but {name} is not a registered service")


# ---------------------------------------------------------------------------------------
# Compose.


def check_compose(p: Problems, root: Path, services: list[str], keys: set, tools: Tools) -> None:
    base = root / "deploy/compose"
    path = base / "compose.yaml"
    code, out = tools.run([tools.check_jsonschema, "--builtin-schema", "vendor.compose-spec", str(path)], path)
    p.expect(code == 0, str(path), f"compose-spec schema: {out}")
    doc = yaml.load(path.read_text(), Loader=Loader)
    entries = doc.get("services") or {}

    def served(entry: dict) -> str | None:
        command = entry.get("command") or []
        return command[1] if len(command) >= 2 and command[0] == "serve" else None

    deployed = {served(e): n for n, e in entries.items() if served(e)}
    wanted = services + [PORTAL]
    for name in wanted:
        p.expect(name in deployed, str(path), f"no service runs `serve {name}`")
    for name in sorted(set(deployed) - set(wanted)):
        p.add(str(path), f"`serve {name}`: {name} is not a registered service")

    envs: dict[str, list[str]] = {}
    for name, entry_name in deployed.items():
        entry = entries[entry_name]
        where = f"{path}: services.{entry_name}"
        replicas = (entry.get("deploy") or {}).get("replicas")
        p.expect(replicas == REPLICAS, where, f"deploy.replicas must be {REPLICAS}, not {replicas!r}")
        test = " ".join((entry.get("healthcheck") or {}).get("test") or [])
        p.expect("/health" in test, where, "needs a healthcheck on /health")
        depends = entry.get("depends_on")
        p.expect(isinstance(depends, dict) and all("condition" in d for d in depends.values()), where,
                 "depends_on with a condition for each dependency")
        p.expect("ports" not in entry, where, "replicas cannot share a published port: route through the proxy")
        env = entry.get("environment") or {}
        p.expect(isinstance(env, dict), where, "environment as a mapping")
        envs.setdefault(json.dumps(env, sort_keys=True, default=str), []).append(entry_name)
    # The services share one environment (an anchor): its problems are told once.
    for env_json, names in envs.items():
        where = f"{path}: the environment of services {', '.join(names)}"
        env = {k: str(v) for k, v in json.loads(env_json).items()}
        check_mcf_env(p, where, env, keys)
        check_service_env(p, where, env, services)
        for secret in ("MCF_AUTH__SERVICE_SECRET", "PGPASSWORD"):
            p.expect(re.fullmatch(r"\$\{[A-Z0-9_]+:\?[^}]*\}", env.get(secret, "")) is not None, where,
                     f"{secret} must come from the environment, required: ${{NAME:?message}}")

    nats = [n for n, e in entries.items() if str(e.get("image", "")).startswith("nats:")]
    p.expect(len(nats) == NATS_NODES, str(path), f"{NATS_NODES} NATS nodes expected, found {len(nats)}")
    for name in nats:
        mounts = " ".join(entries[name].get("volumes") or [])
        p.expect("nats/nats.conf:" in mounts, f"{path}: services.{name}", "mounts nats/nats.conf")
    check_nats_conf(p, base / "nats/nats.conf", tools, "SERVER_NAME")

    db = entries.get("postgres") or {}
    init = [v for v in db.get("volumes") or [] if "docker-entrypoint-initdb.d" in v]
    p.expect(len(init) == 1, f"{path}: services.postgres", "mounts the database init script")
    for volume in init:
        script = (base / volume.split(":", 1)[0]).resolve()
        p.expect(script.exists(), f"{path}: services.postgres", f"{script} does not exist")

    proxy = (base / "proxy/default.conf.template").read_text()
    for name in services:
        route = re.search(r"location /api/%s/ \{\s*set \$upstream http://%s:8080;" % (name, name), proxy)
        p.expect(route is not None, str(base / "proxy/default.conf.template"), f"no location /api/{name}/ to {name}:8080")
    p.expect(re.search(r"location / \{\s*set \$upstream http://portal:8080;", proxy) is not None,
             str(base / "proxy/default.conf.template"), "no location / to the portal")

    example = base / ".env.example"
    for var in sorted(set(re.findall(r"\$\{([A-Z0-9_]+):\?", path.read_text()))):
        p.expect(re.search(rf"^{var}=", example.read_text(), re.M) is not None, str(example), f"{var} is not listed")


# ---------------------------------------------------------------------------------------
# Kubernetes.


def read_env_file(path: Path) -> dict[str, str]:
    env = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value
    return env


def probe_path(container: dict, probe: str) -> str | None:
    return ((container.get(probe) or {}).get("httpGet") or {}).get("path")


def check_kubernetes(p: Problems, root: Path, services: list[str], keys: set, tools: Tools) -> None:
    base = root / "deploy/kubernetes"
    kpath = base / "kustomization.yaml"
    kustomization = yaml.load(kpath.read_text(), Loader=Loader)
    documents: list[tuple[Path, dict]] = []
    for resource in kustomization.get("resources") or []:
        path = base / resource
        if not path.is_file():
            p.add(str(kpath), f"resource {resource} does not exist")
            continue
        for doc in yaml.load_all(path.read_text(), Loader=Loader):
            if doc:
                documents.append((path, doc))
    generated: set[str] = set()
    for generator in kustomization.get("configMapGenerator") or []:
        generated.add(generator["name"])
        for entry in (generator.get("files") or []) + (generator.get("envs") or []):
            file = entry.split("=", 1)[-1]
            p.expect((base / file).is_file(), str(kpath), f"configMapGenerator {generator['name']}: {file} does not exist")
    p.expect(kustomization.get("namespace") == "mcf", str(kpath), "namespace: mcf")

    for path, doc in documents:
        where = f"{path}: {doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"
        doc_json = json.dumps(doc, sort_keys=True)
        for version in K8S_VERSIONS:
            problem = k8s_problem(doc_json, version)
            if problem:
                p.add(where, problem)
                break

    def of_kind(kind: str) -> dict[str, dict]:
        return {d["metadata"]["name"]: d for _, d in documents if d.get("kind") == kind}

    deployments, svcs, pdbs = of_kind("Deployment"), of_kind("Service"), of_kind("PodDisruptionBudget")
    wanted = services + [PORTAL]
    for name in wanted:
        p.expect(name in deployments, str(base), f"no Deployment {name}")
    for name in sorted(set(deployments) - set(wanted)):
        p.add(str(base), f"Deployment {name}: not a registered service")

    secret_keys = set(read_env_file(base / "secrets.env.example"))
    config = read_env_file(base / "config.env")
    check_mcf_env(p, str(base / "config.env"), config, keys)
    check_service_env(p, str(base / "config.env"), config, services)
    for name in config:
        p.expect(not re.search(r"SECRET|PASSWORD", name), str(base / "config.env"), f"{name} is a secret: put it in mcf-secrets")

    for name, d in deployments.items():
        where = f"Deployment {name}"
        spec = d["spec"]
        pod = spec["template"]["spec"]
        labels = spec["template"]["metadata"].get("labels") or {}
        p.expect(spec.get("replicas") == REPLICAS, where, f"replicas must be {REPLICAS}")
        p.expect((pod.get("securityContext") or {}).get("runAsNonRoot") is True, where, "securityContext.runAsNonRoot: true")
        containers = pod.get("containers") or []
        p.expect(len(containers) == 1, where, "one container")
        for c in containers:
            p.expect(c.get("args") == ["serve", name], where, f"args must be [serve, {name}], not {c.get('args')}")
            p.expect(probe_path(c, "livenessProbe") == "/health", where, "livenessProbe on /health")
            ready = "/health" if name == PORTAL else f"/api/{name}/ready"
            p.expect(probe_path(c, "readinessProbe") == ready, where, f"readinessProbe on {ready}")
            p.expect(bool((c.get("resources") or {}).get("requests")), where, "resource requests")
            refs = [e["configMapRef"]["name"] for e in c.get("envFrom") or [] if "configMapRef" in e]
            p.expect(refs == ["mcf-config"], where, "envFrom the ConfigMap mcf-config")
            env = {e["name"]: e for e in c.get("env") or []}
            ref = ((env.get("MCF_AUTH__SERVICE_SECRET") or {}).get("valueFrom") or {}).get("secretKeyRef") or {}
            p.expect(ref.get("name") == "mcf-secrets", where, "MCF_AUTH__SERVICE_SECRET from the Secret mcf-secrets")
            if name != PORTAL:
                ref = ((env.get("PGPASSWORD") or {}).get("valueFrom") or {}).get("secretKeyRef") or {}
                p.expect(ref.get("name") == "mcf-secrets", where, "PGPASSWORD from the Secret mcf-secrets")
            check_mcf_env(p, where, {k: "" for k in env}, keys)
            for var, e in env.items():
                p.expect("value" not in e or not re.search(r"SECRET|PASSWORD", var), where, f"{var} is a secret: use a secretKeyRef")
        s = svcs.get(name)
        p.expect(s is not None and s["spec"].get("selector", {}).items() <= labels.items() and bool(s["spec"].get("selector")),
                 where, "a Service selecting its pods")
        b = pdbs.get(name)
        p.expect(b is not None and b["spec"]["selector"].get("matchLabels", {}).items() <= labels.items(),
                 where, "a PodDisruptionBudget selecting its pods")

    # Every Secret key referenced is documented; every ConfigMap referenced is made.
    for path, doc in documents:
        text = yaml.safe_dump(doc)
        for ref in re.findall(r"secretKeyRef:\n\s+key: ([\w.-]+)", text):
            p.expect(ref in secret_keys, str(path), f"Secret key {ref} is not in secrets.env.example")
        for ref in re.findall(r"configMap(?:Ref)?:\n(?:\s+\w+: .*\n)*?\s+name: ([\w.-]+)", text):
            p.expect(ref in generated, str(path), f"ConfigMap {ref} is neither generated nor a resource")

    ingress = of_kind("Ingress")
    routes = {
        path["path"]: path["backend"]["service"]["name"]
        for i in ingress.values() for rule in i["spec"]["rules"] for path in rule["http"]["paths"]
    }
    for name in services:
        p.expect(routes.get(f"/api/{name}") == name, "Ingress", f"no path /api/{name} to Service {name}")
    p.expect(routes.get("/") == PORTAL, "Ingress", "no path / to the portal")

    nats = of_kind("StatefulSet").get("nats")
    p.expect(nats is not None and nats["spec"].get("replicas") == NATS_NODES, "StatefulSet nats", f"{NATS_NODES} replicas")
    check_nats_conf(p, base / "nats/nats.conf", tools, "POD_NAME")
    init_databases(p, base / "postgres/init-databases.sh", services)


def check_dockerfile(p: Problems, root: Path) -> None:
    path = root / "Dockerfile"
    text = path.read_text()
    p.expect(re.search(r"cargo build --release --locked -p mcf", text) is not None, str(path), "builds mcf (release, locked)")
    # The build image's Rust must be at least the workspace's rust-version, and both stages the
    # same Debian release (the binary links against the build stage's glibc).
    wanted = re.search(r'^rust-version = "(\d+)\.(\d+)"', (root / "Cargo.toml").read_text(), re.M)
    rust = re.search(r"^FROM rust:(\d+)\.(\d+)[\w.]*-slim-(\w+)", text, re.M)
    run = re.findall(r"^FROM debian:(\w+)-slim\s*$", text, re.M)
    p.expect(bool(wanted and rust) and tuple(map(int, rust.groups()[:2])) >= tuple(map(int, wanted.groups())),
             str(path), "the build stage's Rust is older than the workspace's rust-version (or not found)")
    p.expect(bool(rust) and run == [rust.group(3)], str(path), "build and run stages on the same Debian release")
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    p.expect(bool(users) and not users[-1].startswith(("0", "root")), str(path), "runs as a non-root user")
    ignore = (root / ".dockerignore").read_text().split()
    p.expect("target" in ignore and ".git" in ignore, str(root / ".dockerignore"), "leaves out target and .git")


def check(root: Path, tools: Tools) -> list[str]:
    p = Problems()
    services = registered_services(root)
    keys = configuration_keys(root, services)
    check_compose(p, root, services, keys, tools)
    check_kubernetes(p, root, services, keys, tools)
    check_dockerfile(p, root)
    return p.items


# ---------------------------------------------------------------------------------------
# Self-test: each break must be caught.

BREAKS = [
    ("a service without its compose entry", "deploy/compose/compose.yaml",
     '  billing:\n    <<: *mcf-service\n    command: ["serve", "billing"]\n', ""),
    ("one replica", "deploy/compose/compose.yaml", "    replicas: 2\n", "    replicas: 1\n"),
    ("a misspelt compose key", "deploy/compose/compose.yaml", "  stop_grace_period:", "  stop_grace_periods:"),
    ("a database missing from the shared env", "deploy/compose/compose.yaml",
     "  MCF_DATABASES__MAIL: postgres://mcf@postgres:5432/mcf_mail\n", ""),
    ("a secret with a default", "deploy/compose/compose.yaml",
     "${SERVICE_SECRET:?set SERVICE_SECRET", "${SERVICE_SECRET:-x}${IGNORED:?set SERVICE_SECRET"),
    ("a password in a database URL", "deploy/kubernetes/config.env", "postgres://mcf@postgres:5432/mcf_iam",
     "postgres://mcf:pw@postgres:5432/mcf_iam"),
    ("a secret in the ConfigMap", "deploy/kubernetes/config.env", "MCF_LOG__FORMAT=json\n",
     "MCF_LOG__FORMAT=json\nMCF_AUTH__SERVICE_SECRET=x\n"),
    ("an unknown configuration key", "deploy/kubernetes/config.env",
     "MCF_LOG__FORMAT=json\n", "MCF_LOG__FORMAT=json\nMCF_LOG__COLOUR=red\n"),
    ("no route to a service", "deploy/compose/proxy/default.conf.template",
     "    location /api/hiring/ {", "    location /api/hiringx/ {"),
    ("NATS without fsync", "deploy/kubernetes/nats/nats.conf", "  sync_interval: always\n", "  sync_interval: 2m\n"),
    ("a misspelt NATS key", "deploy/compose/nats/nats.conf", "  max_file_store:", "  max_file_stor:"),
    ("a kustomization resource that does not exist", "deploy/kubernetes/kustomization.yaml",
     "  - ingress.yaml\n", "  - ingress.yaml\n  - gone.yaml\n"),
    ("a service without its Deployment", "deploy/kubernetes/kustomization.yaml", "  - services/matching.yaml\n", ""),
    ("an invalid Deployment field", "deploy/kubernetes/services/mail.yaml", "  revisionHistoryLimit: 5\n",
     "  revisionHistoryLimits: 5\n"),
    ("readiness on the wrong path", "deploy/kubernetes/services/ordering.yaml", "path: /api/ordering/ready",
     "path: /api/ordering/health"),
    ("a database not created", "deploy/kubernetes/postgres/init-databases.sh", "CREATE DATABASE mcf_iam OWNER mcf;\n", ""),
    ("an undocumented Secret key", "deploy/kubernetes/secrets.env.example", "smtp-url=\n", ""),
    ("an old Rust", "Dockerfile", "FROM rust:1.95-slim-bookworm", "FROM rust:1.80-slim-bookworm"),
    ("another Debian to run on", "Dockerfile", "FROM debian:bookworm-slim", "FROM debian:trixie-slim"),
    ("no Ingress path", "deploy/kubernetes/ingress.yaml", "          - path: /api/billing\n", "          - path: /api/billingx\n"),
]


def self_test(root: Path, tools: Tools) -> list[str]:
    """Breaks a copy of the (passing) files in each way of BREAKS; what went uncaught."""
    failures = []
    with tempfile.TemporaryDirectory(prefix="check-deploy-") as tmp:
        copy = Path(tmp)
        for part in ("deploy", "bin/mcf/src", "config", "services", "apps"):
            if (root / part).exists():
                shutil.copytree(root / part, copy / part, ignore=shutil.ignore_patterns("target", "node_modules", "*.rs"),
                                dirs_exist_ok=True)
        shutil.copy(root / "bin/mcf/src/system.rs", copy / "bin/mcf/src/system.rs")
        for lib in root.glob("services/*/src/lib.rs"):
            shutil.copy(lib, copy / lib.relative_to(root))
        for f in ("Dockerfile", ".dockerignore", "Cargo.toml"):
            shutil.copy(root / f, copy / f)
        for what, file, old, new in BREAKS:
            target = copy / file
            original = target.read_text()
            if old not in original:
                failures.append(f"{what}: the text to break is no longer in {file}; update BREAKS")
                continue
            target.write_text(original.replace(old, new, 1))
            if not check(copy, tools):
                failures.append(f"{what} ({file}) was not caught")
            target.write_text(original)
    return failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--self-test", action="store_true", help="also prove each check fails on a broken copy")
    args = parser.parse_args()
    tools = Tools()
    root = Path(__file__).resolve().parent.parent
    problems = check(root, tools)
    if args.self_test and not problems:
        problems = self_test(root, tools)
    for problem in problems:
        print(f"check-deploy: {problem}", file=sys.stderr)
    if problems:
        return 1
    print("check-deploy: self-test passed" if args.self_test else "check-deploy: deployment files are valid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
