#!/usr/bin/python3
"""Cheap CI check of the root Dockerfile (the real build is build_image.sh).

Checks: base images pinned by tag (never :latest or untagged); every COPY
source from the build context exists and is not excluded by .dockerignore;
the runtime (last) stage runs as a numeric non-root USER, has an exec-form
ENTRYPOINT, EXPOSEs 50051 and 9090 and installs no -dev package; every
package the Dockerfile installs is known to apt-cache; the build stage
installs every package of ./rapport's DEB_PACKAGES except the database
server and developer-only tools.

Usage: dockerfile_lint.py <repo root>
"""
import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

# DEB_PACKAGES the image build does not need.
NOT_IN_IMAGE = {
    "mariadb-server", "ccache", "clang-format", "libbenchmark-dev",
    "python3-grpcio", "python3-protobuf", "golang-go",
    "golang-github-masterminds-sprig-dev", "golang-gopkg-yaml.v3-dev",
    "python3-jsonschema", "python3-yaml", "podman", "debootstrap",
    # Fuzzers (clang + libFuzzer) and test certificates (openssl) are test-only.
    "clang", "libclang-rt-14-dev", "openssl",
}

errors = []


def error(msg):
    errors.append(msg)


def instructions(text):
    """(keyword, argument) pairs, continuation lines joined, comments gone."""
    out, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        keyword, _, arg = current.partition(" ")
        out.append((keyword.upper(), arg.strip()))
        current = ""
    return out


def apt_packages(run_arg):
    """Packages named after `apt-get install` in a RUN argument."""
    packages = []
    for part in re.split(r"&&|;", run_arg):
        if "apt-get" not in part:
            continue
        words = shlex.split(part)
        if "apt-get" in words and "install" in words:
            after = words[words.index("install") + 1:]
            packages += [w for w in after if not w.startswith("-")]
    return packages


def dockerignored(path, patterns):
    for pattern in patterns:
        p = pattern.rstrip("/")
        first = path.split("/")[0]
        if fnmatch.fnmatch(path, p) or fnmatch.fnmatch(first, p):
            return True
    return False


def main():
    root = sys.argv[1]
    with open(os.path.join(root, "Dockerfile")) as f:
        ins = instructions(f.read())
    with open(os.path.join(root, ".dockerignore")) as f:
        ignore = [l.strip() for l in f
                  if l.strip() and not l.startswith("#")]
    for must in (".git", ".local/", "build*/"):
        if must not in ignore:
            error(f".dockerignore does not exclude {must}")

    stages = []  # list of lists of (keyword, arg)
    for keyword, arg in ins:
        if keyword == "FROM":
            stages.append([])
            image = arg.split()[0]
            name = image.split("@")[0]
            tag = name.rsplit(":", 1)[1] if ":" in name.split("/")[-1] else ""
            if not tag or tag == "latest":
                error(f"FROM {image}: pin the base image by tag (or digest)")
        elif not stages:
            if keyword not in ("ARG",):
                error(f"{keyword} before the first FROM")
            continue
        stages[-1].append((keyword, arg))
    if len(stages) < 2:
        error("expected a multi-stage build (build + runtime)")
        return

    for stage in stages:
        for keyword, arg in stage:
            if keyword != "COPY" or "--from=" in arg:
                continue
            words = [w for w in shlex.split(arg) if not w.startswith("--")]
            for src in words[:-1]:
                if src == ".":
                    continue
                if not os.path.exists(os.path.join(root, src)):
                    error(f"COPY source {src} does not exist")
                elif dockerignored(src, ignore):
                    error(f"COPY source {src} is excluded by .dockerignore")

    runtime = stages[-1]
    users = [arg for k, arg in runtime if k == "USER"]
    if not users:
        error("runtime stage has no USER")
    else:
        user = users[-1].split(":")[0]
        if not user.isdigit():
            error(f"USER {user}: use a numeric uid so runAsNonRoot can verify")
        elif int(user) == 0:
            error("runtime stage runs as root")
    entry = [arg for k, arg in runtime if k == "ENTRYPOINT"]
    if not entry:
        error("runtime stage has no ENTRYPOINT")
    else:
        try:
            form = json.loads(entry[-1])
            if not isinstance(form, list) or form[0] != "/usr/bin/rapportd":
                error("ENTRYPOINT must be [\"/usr/bin/rapportd\"]")
            if any(w in ("sh", "/bin/sh", "bash", "/bin/bash") for w in form):
                error("ENTRYPOINT must not go through a shell")
        except (ValueError, IndexError):
            error("ENTRYPOINT is not in exec (JSON) form")
    exposed = set()
    for k, arg in runtime:
        if k == "EXPOSE":
            exposed |= {p.split("/")[0] for p in arg.split()}
    for port in ("50051", "9090"):
        if port not in exposed:
            error(f"runtime stage does not EXPOSE {port}")

    runtime_pkgs = [p for k, a in runtime if k == "RUN" for p in apt_packages(a)]
    build_pkgs = [p for k, a in stages[0] if k == "RUN" for p in apt_packages(a)]
    for p in runtime_pkgs:
        if p.endswith("-dev") or p in ("build-essential", "cmake"):
            error(f"runtime stage installs build package {p}")
    if not runtime_pkgs:
        error("runtime stage installs no runtime libraries")

    with open(os.path.join(root, "rapport")) as f:
        script = f.read()
    m = re.search(r"DEB_PACKAGES=\((.*?)\)", script, re.S)
    if not m:
        error("cannot find DEB_PACKAGES in ./rapport")
    else:
        wanted = set(m.group(1).split()) - NOT_IN_IMAGE
        for p in sorted(wanted - set(build_pkgs)):
            error(f"build stage does not install {p} (in ./rapport's "
                  "DEB_PACKAGES); add it or list it in NOT_IN_IMAGE")

    if shutil.which("apt-cache"):
        wanted = sorted(set(runtime_pkgs + build_pkgs))
        r = subprocess.run(["apt-cache", "show", "--no-all-versions"] + wanted,
                           capture_output=True, text=True)
        known = set(re.findall(r"^Package: (\S+)$", r.stdout, re.M))
        for p in wanted:
            if p not in known:
                error(f"package {p} is unknown to apt-cache")
    else:
        print("note: no apt-cache here; package names not checked")


if __name__ == "__main__":
    main()
    for e in errors:
        print("Dockerfile:", e, file=sys.stderr)
    if errors:
        sys.exit(1)
    print("Dockerfile OK")
