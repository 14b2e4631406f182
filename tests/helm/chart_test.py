#!/usr/bin/python3
"""Tests of helm/rapport without helm or a cluster.

Renders the chart with tests/helm/render (Go text/template + sprig + Helm's
functions), validates values against values.schema.json, and checks the
manifests: every document parses, labels match selectors, every container has
resources, probes (server) and a restrictive security context, the migration
hook Job is annotated right, and toggles change the output as they should.
With RAPPORTD set, the rendered config file is fed to the real rapportd.

Usage: chart_test.py <render binary> <chart dir> [rapportd]
"""
import base64
import copy
import json
import os
import subprocess
import sys
import tempfile
import unittest

import jsonschema
import yaml

RENDER, CHART = sys.argv[1], sys.argv[2]
RAPPORTD = sys.argv[3] if len(sys.argv) > 3 else ""
del sys.argv[1:]

PASSWORD = "s3cret-Pa55"
BOOTSTRAP_KEY = "b00tstrap-" + "k" * 30
BASE = {
    "externalDatabase": {"host": "mysql.db.svc", "password": PASSWORD},
    "server": {"insecure": True},
}


def merge(dst, src):
    out = copy.deepcopy(dst)
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = v
    return out


def load_values(overrides):
    with open(os.path.join(CHART, "values.yaml")) as f:
        return merge(yaml.safe_load(f), overrides)


def render(overrides, name="rel"):
    """(returncode, documents, stderr) of rendering with `overrides`."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        yaml.safe_dump(overrides, f)
        path = f.name
    try:
        r = subprocess.run([RENDER, "-chart", CHART, "-name", name,
                            "-namespace", "crm", "-f", path],
                           capture_output=True, text=True)
    finally:
        os.unlink(path)
    docs = []
    if r.returncode == 0:
        docs = [d for d in yaml.safe_load_all(r.stdout) if d]
    return r.returncode, docs, r.stderr


def of_kind(docs, kind):
    return [d for d in docs if d["kind"] == kind]


def one(docs, kind):
    found = of_kind(docs, kind)
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


def subset(small, big):
    return all(big.get(k) == v for k, v in small.items())


def containers(pod_spec):
    return pod_spec.get("initContainers", []) + pod_spec["containers"]


def config_of(docs):
    return yaml.safe_load(one(docs, "ConfigMap")["data"]["rapport.yaml"])


def server_container(docs):
    return one(docs, "Deployment")["spec"]["template"]["spec"]["containers"][0]


def env_of(docs):
    return {e["name"]: e for e in server_container(docs)["env"]}


def notes(overrides):
    """NOTES.txt as rendered with `overrides` (the renderer prints it on stderr)."""
    rc, _, err = render(merge(BASE, overrides))
    assert rc == 0, err
    return err


class SchemaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(CHART, "values.schema.json")) as f:
            cls.schema = json.load(f)

    def valid(self, overrides):
        jsonschema.validate(load_values(overrides), self.schema)

    def test_defaults_and_examples_validate(self):
        self.valid({})
        self.valid(BASE)
        self.valid({"plugins": {"partner": [{"name": "acme", "image": "acme/p:1"}],
                                "config": {"acme.sync": {"endpoint": "x"}}}})
        self.valid({"auth": {"bootstrapAdminKey": BOOTSTRAP_KEY,
                             "clientCertRoles": ["spiffe://crm/sa/x=ADMIN",
                                                 "reports=READER"],
                             "keyRefresh": "500ms"},
                    "tls": {"clientAuthMode": "optional",
                            "reloadInterval": "5m"},
                    "limits": {"ratePerKey": 0, "rateBurst": 1,
                               "maxDeadline": "1h",
                               "maxConcurrentStreams": 1000}})

    def test_bad_values_are_rejected(self):
        bad = [
            {"server": {"logLevel": "loud"}},
            {"server": {"grpcPort": 70000}},
            {"server": {"shutdownGrace": "twenty"}},
            {"image": {"tag": "latest"}},
            {"image": {"pullPolicy": "Sometimes"}},
            {"replicaCount": -1},
            {"unknownTopLevel": True},
            {"externalDatabase": {"hostname": "typo"}},
            {"plugins": {"partner": [{"name": "acme"}]}},
            {"plugins": {"firstParty": {"loyalty": {"enabled": "yes",
                                                    "library": "x.so"}}}},
            {"service": {"type": "ExternalName"}},
            {"auth": {"bootstrapAdminKey": "too-short"}},
            {"auth": {"clientCertRoles": ["no-role-here"]}},
            {"auth": {"clientCertRoles": ["a=ADMIN,b=READER"]}},
            {"auth": {"keyRefresh": "2 seconds"}},
            {"auth": {"existingSecretHasAdminKey": "yes"}},
            {"tls": {"clientAuthMode": "maybe"}},
            {"tls": {"reloadInterval": 60}},
            {"limits": {"ratePerKey": -1}},
            {"limits": {"rateBurst": 0}},
            {"limits": {"maxDeadline": "forever"}},
            {"limits": {"maxConcurrentStreams": 0}},
            {"limits": {"perKey": 5}},
        ]
        for overrides in bad:
            with self.subTest(overrides=overrides):
                with self.assertRaises(jsonschema.ValidationError):
                    self.valid(overrides)

    def test_every_value_is_documented(self):
        with open(os.path.join(CHART, "values.yaml")) as f:
            text = f.read()
        documented = {line.split()[2] for line in text.splitlines()
                      if line.startswith("## @param ")}

        def leaves(v, prefix):
            if isinstance(v, dict) and v and prefix not in (
                    "plugins.firstParty",):
                for k, x in v.items():
                    p = f"{prefix}.{k}" if prefix else k
                    if p in documented:
                        continue
                    yield from leaves(x, p)
            elif prefix:
                yield prefix

        missing = [p for p in leaves(yaml.safe_load(text), "")
                   if p not in documented and
                   not p.startswith("plugins.firstParty")]
        self.assertEqual(missing, [])


class RenderTest(unittest.TestCase):
    def render_ok(self, overrides):
        rc, docs, err = render(merge(BASE, overrides))
        self.assertEqual(rc, 0, err)
        self.check_common(docs)
        return docs

    def check_common(self, docs):
        for d in docs:
            self.assertIn("apiVersion", d)
            meta = d["metadata"]
            self.assertTrue(meta["name"])
            labels = meta.get("labels", {})
            for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance",
                        "app.kubernetes.io/managed-by", "helm.sh/chart"):
                self.assertIn(key, labels, f"{d['kind']} {meta['name']}")
            self.assertNotIn(PASSWORD, json.dumps(d) if d["kind"] != "Secret"
                             else "", "password outside a Secret")
        dep = one(docs, "Deployment")
        pod_labels = dep["spec"]["template"]["metadata"]["labels"]
        self.assertTrue(subset(dep["spec"]["selector"]["matchLabels"],
                               pod_labels))
        for svc in of_kind(docs, "Service"):
            self.assertTrue(subset(svc["spec"]["selector"], pod_labels))
        for pdb in of_kind(docs, "PodDisruptionBudget"):
            self.assertTrue(subset(pdb["spec"]["selector"]["matchLabels"],
                                   pod_labels))
        for np in of_kind(docs, "NetworkPolicy"):
            self.assertTrue(subset(np["spec"]["podSelector"]["matchLabels"],
                                   pod_labels))
        for hpa in of_kind(docs, "HorizontalPodAutoscaler"):
            self.assertEqual(hpa["spec"]["scaleTargetRef"]["name"],
                             dep["metadata"]["name"])
        for sm in of_kind(docs, "ServiceMonitor"):
            main = [s for s in of_kind(docs, "Service")
                    if "clusterIP" not in s["spec"]][0]
            self.assertTrue(subset(sm["spec"]["selector"]["matchLabels"],
                                   main["metadata"]["labels"]))
        pods = [dep["spec"]["template"]["spec"]] + [
            j["spec"]["template"]["spec"] for j in of_kind(docs, "Job")]
        for pod in pods:
            self.assertTrue(pod["securityContext"]["runAsNonRoot"])
            for c in containers(pod):
                with self.subTest(container=c["name"]):
                    self.assertIn("requests", c["resources"])
                    self.assertIn("limits", c["resources"])
                    sc = c["securityContext"]
                    self.assertTrue(sc["runAsNonRoot"])
                    self.assertTrue(sc["readOnlyRootFilesystem"])
                    self.assertFalse(sc["allowPrivilegeEscalation"])
                    self.assertEqual(sc["capabilities"]["drop"], ["ALL"])
                    self.assertEqual(sc["seccompProfile"]["type"],
                                     "RuntimeDefault")
        server = dep["spec"]["template"]["spec"]["containers"][0]
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            self.assertIn(probe, server)
        self.assertEqual({p["name"]: p["containerPort"]
                          for p in server["ports"]},
                         {"grpc": 50051, "metrics": 9090})
        grace = config_of(docs)["shutdown_grace"]
        self.assertGreater(
            dep["spec"]["template"]["spec"]["terminationGracePeriodSeconds"],
            int(grace.rstrip("s")))
        self.assertIn("checksum/config",
                      dep["spec"]["template"]["metadata"]["annotations"])

    def test_defaults_fail_once_with_every_message(self):
        rc, _, err = render({})
        self.assertNotEqual(rc, 0)
        for msg in ("externalDatabase.host", "externalDatabase.password",
                    "tls.enabled"):
            self.assertIn(msg, err)

    def test_base_install(self):
        docs = self.render_ok({})
        kinds = sorted(d["kind"] for d in docs)
        self.assertEqual(kinds, sorted([
            "ConfigMap", "Deployment", "Job", "NetworkPolicy",
            "PodDisruptionBudget", "Secret", "Secret", "Service",
            "ServiceAccount"]))
        dep = one(docs, "Deployment")
        self.assertEqual(dep["spec"]["replicas"], 2)
        server = dep["spec"]["template"]["spec"]["containers"][0]
        self.assertEqual(server["image"],
                         "registry.example.com/rapport/rapportd:0.1.0")
        self.assertEqual(server["readinessProbe"]["grpc"]["port"], 50051)
        self.assertEqual(server["livenessProbe"]["grpc"]["port"], 50051)
        self.assertEqual(server["args"], ["serve"])
        env = {e["name"]: e for e in server["env"]}
        self.assertEqual(env["RAPPORT_DB_PASSWORD"]["valueFrom"]
                         ["secretKeyRef"]["name"], "rel-rapport")
        secret = [s for s in of_kind(docs, "Secret")
                  if s["metadata"]["name"] == "rel-rapport"][0]
        self.assertEqual(base64.b64decode(secret["data"]["db-password"])
                         .decode(), PASSWORD)
        cfg = config_of(docs)
        self.assertEqual(cfg["db"]["host"], "mysql.db.svc")
        self.assertFalse(cfg["migrate_on_start"])
        self.assertEqual(cfg["max_connection_age"], "5m")
        self.assertTrue(cfg["insecure"])
        self.assertNotIn("tls", cfg)
        svc = one(docs, "Service")
        self.assertEqual(svc["spec"]["type"], "ClusterIP")
        self.assertEqual({p["name"]: p["port"] for p in svc["spec"]["ports"]},
                         {"grpc": 50051, "metrics": 9090})

    def test_migration_hook_job(self):
        docs = self.render_ok({})
        job = one(docs, "Job")
        ann = job["metadata"]["annotations"]
        self.assertEqual(ann["helm.sh/hook"], "pre-install,pre-upgrade")
        self.assertIn("before-hook-creation", ann["helm.sh/hook-delete-policy"])
        c = job["spec"]["template"]["spec"]["containers"][0]
        self.assertEqual(c["args"], ["migrate"])
        self.assertEqual(job["spec"]["template"]["spec"]["restartPolicy"],
                         "Never")
        hook_secret = [s for s in of_kind(docs, "Secret")
                       if "helm.sh/hook" in s["metadata"].get("annotations",
                                                              {})][0]
        self.assertLess(int(hook_secret["metadata"]["annotations"]
                            ["helm.sh/hook-weight"]),
                        int(ann["helm.sh/hook-weight"]))
        docs = self.render_ok({"migration": {"enabled": False}})
        self.assertEqual(of_kind(docs, "Job"), [])
        self.assertTrue(config_of(docs)["migrate_on_start"])

    def test_existing_secret(self):
        docs = self.render_ok({"auth": {"existingSecret": "rapport-creds"},
                               "externalDatabase": {"password": ""}})
        self.assertEqual(of_kind(docs, "Secret"), [])
        server = one(docs, "Deployment")["spec"]["template"]["spec"][
            "containers"][0]
        refs = {e["valueFrom"]["secretKeyRef"]["name"]
                for e in server["env"] if "valueFrom" in e}
        self.assertEqual(refs, {"rapport-creds"})
        job_env = one(docs, "Job")["spec"]["template"]["spec"][
            "containers"][0]["env"]
        self.assertIn("rapport-creds", json.dumps(job_env))

    def test_tls(self):
        rc, _, err = render(merge(BASE, {"tls": {"enabled": True}}))
        self.assertNotEqual(rc, 0)
        self.assertIn("tls.existingSecret", err)
        docs = self.render_ok({"tls": {"enabled": True,
                                       "existingSecret": "rapport-tls",
                                       "clientAuth": True}})
        cfg = config_of(docs)
        self.assertEqual(cfg["tls"], {"cert": "/etc/rapport/tls/tls.crt",
                                      "key": "/etc/rapport/tls/tls.key",
                                      "client_ca": "/etc/rapport/tls/ca.crt",
                                      "client_auth": "require",
                                      "reload_interval": "60s"})
        self.assertFalse(cfg["insecure"])
        pod = one(docs, "Deployment")["spec"]["template"]["spec"]
        self.assertIn({"name": "tls", "secret": {"secretName": "rapport-tls",
                                                 "defaultMode": 0o440}},
                      pod["volumes"])
        # kubelet's gRPC probes cannot do TLS: HTTP probes on the metrics port.
        self.assertEqual(pod["containers"][0]["readinessProbe"]["httpGet"],
                         {"path": "/readyz", "port": "metrics"})

    def test_auth_and_limits_defaults(self):
        cfg = config_of(self.render_ok({}))
        self.assertEqual(cfg["auth"], {"key_refresh": "2s"})
        self.assertEqual(cfg["limits"], {"rate_per_key": 1000,
                                         "rate_burst": 2000,
                                         "max_deadline": "5m",
                                         "max_concurrent_streams": 100})
        self.assertTrue(cfg["insecure"])
        cfg = config_of(self.render_ok({"tls": {"enabled": True,
                                                "existingSecret": "t"}}))
        self.assertEqual(cfg["tls"]["reload_interval"], "60s")
        self.assertNotIn("client_ca", cfg["tls"])
        self.assertNotIn("client_auth", cfg["tls"])
        cfg = config_of(self.render_ok({
            "auth": {"keyRefresh": "500ms"},
            "tls": {"enabled": True, "existingSecret": "t",
                    "reloadInterval": "10s"},
            "limits": {"ratePerKey": 0, "rateBurst": 50,
                       "maxDeadline": "1h", "maxConcurrentStreams": 8}}))
        self.assertEqual(cfg["auth"]["key_refresh"], "500ms")
        self.assertEqual(cfg["tls"]["reload_interval"], "10s")
        self.assertEqual(cfg["limits"], {"rate_per_key": 0, "rate_burst": 50,
                                         "max_deadline": "1h",
                                         "max_concurrent_streams": 8})

    def test_tls_client_auth_optional(self):
        docs = self.render_ok({"tls": {"enabled": True,
                                       "existingSecret": "rapport-tls",
                                       "clientAuth": True,
                                       "clientAuthMode": "optional"}})
        tls = config_of(docs)["tls"]
        self.assertEqual(tls["client_auth"], "optional")
        self.assertEqual(tls["client_ca"], "/etc/rapport/tls/ca.crt")

    def test_client_cert_roles(self):
        roles = ["spiffe://crm/ns/billing/sa/sync=AGENT",
                 "reports.crm.svc=READER"]
        docs = self.render_ok({"auth": {"clientCertRoles": roles},
                               "tls": {"enabled": True,
                                       "existingSecret": "rapport-tls",
                                       "clientAuth": True}})
        # rapportd reads YAML lists of settings as one comma-separated value.
        rendered = config_of(docs)["auth"]["client_cert_roles"]
        self.assertEqual(rendered.split(","), roles)
        self.assertNotIn("client_cert_roles",
                         config_of(self.render_ok({}))["auth"])
        # Only verified client certificates map to roles: mTLS is needed.
        rc, _, err = render(merge(BASE, {"auth": {"clientCertRoles": roles}}))
        self.assertNotEqual(rc, 0)
        self.assertIn("auth.clientCertRoles: needs tls.enabled and "
                      "tls.clientAuth", err)

    def test_short_bootstrap_key_fails(self):
        rc, _, err = render(merge(BASE, {"auth": {"bootstrapAdminKey":
                                                  "k" * 31}}))
        self.assertNotEqual(rc, 0)
        self.assertIn("auth.bootstrapAdminKey: is 31 characters; rapportd "
                      "requires at least 32", err)
        self.render_ok({"auth": {"bootstrapAdminKey": "k" * 32}})

    def test_duration_minimums_fail(self):
        rc, _, err = render(merge(BASE, {
            "auth": {"keyRefresh": "50ms"},
            "tls": {"reloadInterval": "999ms"},
            "limits": {"maxDeadline": "0s"}}))
        self.assertNotEqual(rc, 0)
        for msg in ("auth.keyRefresh: 50ms is shorter than 100ms",
                    "tls.reloadInterval: 999ms is shorter than 1s",
                    "limits.maxDeadline: 0s is shorter than 1s"):
            self.assertIn(msg, err)
        self.render_ok({"auth": {"keyRefresh": "100ms"},
                        "tls": {"reloadInterval": "1s"},
                        "limits": {"maxDeadline": "1000ms"}})

    def test_tls_secret_mounted_as_directory(self):
        # cert-manager rotates the Secret in place; the kubelet only updates
        # directory mounts (atomic symlink swap), never subPath ones.
        docs = self.render_ok({"tls": {"enabled": True,
                                       "existingSecret": "rapport-tls",
                                       "clientAuth": True},
                               "auth": {"bootstrapAdminKey": BOOTSTRAP_KEY}})
        pod = one(docs, "Deployment")["spec"]["template"]["spec"]
        mounts = {m["name"]: m for m in pod["containers"][0]["volumeMounts"]}
        secret_volumes = [v["name"] for v in pod["volumes"] if "secret" in v]
        self.assertEqual(sorted(secret_volumes),
                         ["bootstrap-admin-key", "tls"])
        for name in secret_volumes:
            self.assertNotIn("subPath", mounts[name])
            self.assertTrue(mounts[name]["readOnly"])
        self.assertEqual(mounts["tls"]["mountPath"], "/etc/rapport/tls")
        for key in ("cert", "key", "client_ca"):
            self.assertTrue(config_of(docs)["tls"][key].startswith(
                mounts["tls"]["mountPath"] + "/"))

    def test_bootstrap_key_as_file(self):
        docs = self.render_ok({"auth": {"bootstrapAdminKey": BOOTSTRAP_KEY}})
        env = env_of(docs)
        self.assertNotIn("RAPPORT_BOOTSTRAP_ADMIN_KEY", env)
        path = env["RAPPORT_BOOTSTRAP_ADMIN_KEY_FILE"]["value"]
        self.assertEqual(path, "/etc/rapport/secrets/bootstrap-admin-key")
        pod = one(docs, "Deployment")["spec"]["template"]["spec"]
        self.assertIn({"name": "bootstrap-admin-key", "secret": {
            "secretName": "rel-rapport", "defaultMode": 0o440,
            "optional": True,
            "items": [{"key": "bootstrap-admin-key",
                       "path": "bootstrap-admin-key"}]}}, pod["volumes"])
        mount = [m for m in pod["containers"][0]["volumeMounts"]
                 if m["name"] == "bootstrap-admin-key"][0]
        self.assertEqual(mount["mountPath"] + "/bootstrap-admin-key", path)
        secret = [s for s in of_kind(docs, "Secret")
                  if s["metadata"]["name"] == "rel-rapport"][0]
        self.assertEqual(base64.b64decode(secret["data"]
                                          ["bootstrap-admin-key"]).decode(),
                         BOOTSTRAP_KEY)
        for d in docs:
            if d["kind"] != "Secret":
                self.assertNotIn(BOOTSTRAP_KEY, json.dumps(d))

        # No key configured: no file setting (rapportd would fail on a
        # missing file), no volume, no variable.
        docs = self.render_ok({})
        self.assertFalse({"RAPPORT_BOOTSTRAP_ADMIN_KEY",
                          "RAPPORT_BOOTSTRAP_ADMIN_KEY_FILE"} & set(env_of(docs)))
        pod = one(docs, "Deployment")["spec"]["template"]["spec"]
        self.assertNotIn("bootstrap-admin-key",
                         [v["name"] for v in pod["volumes"]])

        # An existing Secret declared to hold the key: the file, from it.
        existing = {"existingSecret": "creds",
                    "existingSecretAdminKeyKey": "admin.key"}
        docs = self.render_ok({"auth": dict(existing,
                                            existingSecretHasAdminKey=True),
                               "externalDatabase": {"password": ""}})
        self.assertIn("RAPPORT_BOOTSTRAP_ADMIN_KEY_FILE", env_of(docs))
        vol = [v for v in one(docs, "Deployment")["spec"]["template"]["spec"]
               ["volumes"] if v["name"] == "bootstrap-admin-key"][0]
        self.assertEqual(vol["secret"]["secretName"], "creds")
        self.assertEqual(vol["secret"]["items"][0]["key"], "admin.key")

        # An existing Secret that may or may not hold it: the optional
        # variable, as before.
        docs = self.render_ok({"auth": existing,
                               "externalDatabase": {"password": ""}})
        env = env_of(docs)
        self.assertNotIn("RAPPORT_BOOTSTRAP_ADMIN_KEY_FILE", env)
        self.assertEqual(env["RAPPORT_BOOTSTRAP_ADMIN_KEY"]["valueFrom"]
                         ["secretKeyRef"], {"name": "creds",
                                            "key": "admin.key",
                                            "optional": True})

    def test_notes(self):
        text = notes({"auth": {"bootstrapAdminKey": BOOTSTRAP_KEY}})
        for s in ("kubectl -n crm get secret rel-rapport -o jsonpath="
                  "'{.data.bootstrap-admin-key}' | base64 -d",
                  "rapport.v1.AdminService/CreateApiKey",
                  'authorization: Bearer $BOOTSTRAP_KEY',
                  '"name": "apiKeys/bootstrap"',
                  "rapport.v1.AdminService/RevokeApiKey",
                  "grpcurl -plaintext"):
            self.assertIn(s, text)
        self.assertNotIn(BOOTSTRAP_KEY, text)
        text = notes({"auth": {"existingSecret": "creds",
                               "existingSecretAdminKeyKey": "admin.key"},
                      "externalDatabase": {"password": ""},
                      "tls": {"enabled": True, "existingSecret": "t",
                              "clientAuth": True,
                              "clientAuthMode": "optional"}})
        self.assertIn("jsonpath='{.data.admin\\.key}'", text)
        self.assertIn("client certificates verified when presented", text)
        self.assertIn("grpcurl -cacert ca.crt", text)
        self.assertIn("No bootstrap admin key was set", notes({}))

    def test_toggles(self):
        base = self.render_ok({})
        docs = self.render_ok({"autoscaling": {"enabled": True}})
        self.assertEqual(one(docs, "HorizontalPodAutoscaler")["spec"]
                         ["maxReplicas"], 10)
        self.assertNotIn("replicas", one(docs, "Deployment")["spec"])
        self.assertEqual(of_kind(base, "HorizontalPodAutoscaler"), [])

        docs = self.render_ok({"service": {"headless": {"enabled": True}}})
        headless = [s for s in of_kind(docs, "Service")
                    if s["spec"].get("clusterIP") == "None"]
        self.assertEqual(len(headless), 1)
        self.assertEqual(headless[0]["metadata"]["name"], "rel-rapport-headless")

        docs = self.render_ok({"metrics": {"serviceMonitor": {"enabled": True}}})
        self.assertEqual(one(docs, "ServiceMonitor")["spec"]["endpoints"][0]
                         ["port"], "metrics")
        self.assertEqual(of_kind(base, "ServiceMonitor"), [])

        docs = self.render_ok({"pdb": {"create": False},
                               "networkPolicy": {"enabled": False},
                               "serviceAccount": {"create": False}})
        for kind in ("PodDisruptionBudget", "NetworkPolicy", "ServiceAccount"):
            self.assertEqual(of_kind(docs, kind), [])
        self.assertEqual(one(docs, "Deployment")["spec"]["template"]["spec"]
                         ["serviceAccountName"], "default")

    def test_config_change_changes_checksum(self):
        def checksum(docs):
            return one(docs, "Deployment")["spec"]["template"]["metadata"][
                "annotations"]["checksum/config"]
        self.assertNotEqual(
            checksum(self.render_ok({})),
            checksum(self.render_ok({"server": {"logLevel": "debug"}})))

    def test_plugins(self):
        base = self.render_ok({})
        self.assertEqual(config_of(base)["plugins"]["paths"], [])
        self.assertNotIn("initContainers",
                         one(base, "Deployment")["spec"]["template"]["spec"])
        docs = self.render_ok({"plugins": {
            "firstParty": {"loyalty": {"enabled": True}},
            "partner": [{"name": "acme-sync", "image": "acme/sync:1.2.0",
                         "path": "/plugins"}],
            "volume": {"persistentVolumeClaim": {"claimName": "plugins"}},
            "required": ["acme.sync"],
            "config": {"acme.sync": {"endpoint": "https://sync.acme.example"}},
        }})
        cfg = config_of(docs)["plugins"]
        self.assertEqual(cfg["paths"],
                         ["/usr/lib/rapport/plugins/librapport_loyalty.so"])
        self.assertEqual(cfg["dir"], "/opt/rapport/plugins")
        self.assertEqual(cfg["required"], ["acme.sync"])
        self.assertEqual(cfg["config"]["acme.sync"]["endpoint"],
                         "https://sync.acme.example")
        pod = one(docs, "Deployment")["spec"]["template"]["spec"]
        inits = {c["name"]: c for c in pod["initContainers"]}
        self.assertEqual(inits["plugin-acme-sync"]["image"], "acme/sync:1.2.0")
        self.assertIn("plugin-volume", inits)
        self.assertIn({"name": "plugins-volume", "persistentVolumeClaim":
                       {"claimName": "plugins"}}, pod["volumes"])

    def test_validation_messages(self):
        rc, _, err = render(merge(BASE, {
            "externalDatabase": {"tls": {"enabled": True}},
            "terminationGracePeriodSeconds": 10,
            "autoscaling": {"enabled": True, "minReplicas": 5,
                            "maxReplicas": 2}}))
        self.assertNotEqual(rc, 0)
        for msg in ("not implemented by rapportd yet",
                    "terminationGracePeriodSeconds",
                    "autoscaling.minReplicas"):
            self.assertIn(msg, err)

    def test_image_digest_and_names(self):
        digest = "sha256:" + "a" * 64
        docs = self.render_ok({"image": {"digest": digest},
                               "fullnameOverride": "crm"})
        dep = one(docs, "Deployment")
        self.assertEqual(dep["metadata"]["name"], "crm")
        self.assertTrue(dep["spec"]["template"]["spec"]["containers"][0]
                        ["image"].endswith("@" + digest))

    @unittest.skipUnless(RAPPORTD, "no rapportd given")
    def test_rapportd_accepts_rendered_config(self):
        for overrides in ({}, {"plugins": {"config": {"x.y": {"a": 1}}}},
                          {"auth": {"clientCertRoles": ["spiffe://a/b=ADMIN",
                                                        "c=READER"],
                                    "keyRefresh": "100ms"},
                           "tls": {"enabled": True, "existingSecret": "t",
                                   "clientAuth": True,
                                   "clientAuthMode": "optional",
                                   "reloadInterval": "1s"},
                           "limits": {"ratePerKey": 0, "rateBurst": 1,
                                      "maxDeadline": "1s",
                                      "maxConcurrentStreams": 1}}):
            cfg = config_of(self.render_ok(overrides))
            cfg["db"].update({"host": "127.0.0.1", "port": 1,
                              "connect_timeout": "1s"})
            with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
                yaml.safe_dump(cfg, f)
                f.flush()
                try:
                    r = subprocess.run([RAPPORTD, "migrate", "--config", f.name],
                                       capture_output=True, text=True,
                                       timeout=3)
                    code = r.returncode
                    err = r.stderr
                except subprocess.TimeoutExpired as e:
                    code, err = None, e.stderr  # retrying the DB: config OK
            # Exit code 2 means rapportd rejected the configuration.
            self.assertNotEqual(code, 2, err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
