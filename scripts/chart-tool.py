#!/usr/bin/env python3
"""Renders, lints and validates Lattice's Helm charts offline, for ChartParityTests (Tests/LatticeKubernetesTests).

  chart-tool.py render CHART_DIR VALUES_JSON --name N --namespace NS   -> normalized objects (JSON) on stdout
  chart-tool.py normalize MANIFESTS_YAML                              -> the same normal form for lattice install
  chart-tool.py lint CHART_DIR VALUES_JSON                            -> Helm's lint report; exit 1 on errors
  chart-tool.py validate MANIFESTS_YAML --kubernetes-version 1.27.0   -> kubernetes-validate (strict) per object
  chart-tool.py strvals EXPRESSIONS_JSON                              -> Helm's own --set parse of each expression

Normal form: a JSON object keyed "Kind/namespace/name", each value the parsed object with null members dropped,
the mesh-config ConfigMaps' config.yaml parsed, and the generated webhook credentials (the webhook Secret's data and
the MutatingWebhookConfiguration's caBundle) replaced by "<generated>" after checking they are consistent.
Exit 2: a template failed (the message on stderr); exit 4: a Python module is missing.
"""
import argparse
import base64
import json
import sys

try:
    import yaml
    import helm_python as helm
    import kubernetes_validate
except ImportError as error:  # pragma: no cover - reported to the Swift test
    print(f"missing Python module ({error.name}): pip install kubernetes-validate helm-python-sdk", file=sys.stderr)
    sys.exit(4)

GENERATED = "<generated>"
WEBHOOK_SECRET = "lattice-webhook-tls"


def drop_nulls(value):
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value]
    return value


def normalize(documents):
    objects = {}
    ca_bundles, secret_cas = [], []
    for doc in documents:
        if not doc:
            continue
        doc = drop_nulls(doc)
        meta = doc.get("metadata", {})
        key = f"{doc.get('kind')}/{meta.get('namespace', '')}/{meta.get('name')}"
        if key in objects:
            raise SystemExit(f"duplicate object {key}")
        if doc.get("kind") == "ConfigMap" and meta.get("labels", {}).get("lattice.io/mesh-config") == "true":
            data = doc.get("data", {})
            if "config.yaml" in data:
                data["config.yaml"] = drop_nulls(yaml.safe_load(data["config.yaml"]))
        if doc.get("kind") == "Secret" and meta.get("name") == WEBHOOK_SECRET:
            data = doc.get("data", {})
            for field in ("tls.crt", "tls.key", "ca.crt"):
                text = base64.b64decode(data.get(field, "")).decode()
                if "-----BEGIN" not in text:
                    raise SystemExit(f"{key}: {field} is not PEM")
            secret_cas.append(data["ca.crt"])
            doc["data"] = {k: GENERATED for k in data}
        if doc.get("kind") == "MutatingWebhookConfiguration":
            for webhook in doc.get("webhooks", []):
                bundle = webhook.get("clientConfig", {}).get("caBundle")
                ca_bundles.append(bundle)
                webhook["clientConfig"]["caBundle"] = GENERATED
        objects[key] = doc
    if ca_bundles and any(bundle not in secret_cas for bundle in ca_bundles):
        raise SystemExit("the webhook's caBundle is not the CA in the lattice-webhook-tls Secret")
    return objects


def load_stream(text):
    return list(yaml.safe_load_all(text))


def command_render(args):
    with open(args.values) as f:
        values = json.load(f)
    try:
        with helm.Chart.load(args.chart) as chart:
            chart.validate_schema(chart.merge_values(values))
            rendered = chart.render(values, name=args.name, namespace=args.namespace, is_install=True)
    except helm.HelmError as error:
        print(str(error), file=sys.stderr)
        return 2
    documents = []
    for path in sorted(rendered):
        if path.endswith(".yaml") or path.endswith(".yml"):
            documents += load_stream(rendered[path])
    print(json.dumps(normalize(documents), sort_keys=True, indent=1))
    return 0


def command_normalize(args):
    with open(args.manifests) as f:
        print(json.dumps(normalize(load_stream(f.read())), sort_keys=True, indent=1))
    return 0


def command_lint(args):
    with open(args.values) as f:
        values = json.load(f)
    report = helm.lint(args.chart, values, strict=True, namespace=args.namespace, kube_version="v1.27.0")
    print(json.dumps(report, indent=1))
    failed = report.get("errors") or [m for m in report.get("messages", []) if m.get("severity", 0) >= 2]
    return 1 if failed else 0


def command_validate(args):
    with open(args.manifests) as f:
        documents = [d for d in load_stream(f.read()) if d]
    result = {"validated": [], "no_schema": [], "failed": []}
    for doc in documents:
        name = f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(doc, args.kubernetes_version, strict=True)
            result["validated"].append(name)
        except kubernetes_validate.SchemaNotFoundError:
            result["no_schema"].append(name)
        except kubernetes_validate.ValidationError as error:
            result["failed"].append(f"{name}: {error.message} at {'.'.join(str(p) for p in error.path)}")
    print(json.dumps(result, indent=1))
    return 1 if result["failed"] else 0


def command_strvals(args):
    with open(args.expressions) as f:
        expressions = json.load(f)
    results = []
    for expression in expressions:
        try:
            results.append({"parsed": helm.parse_set_string(expression)})
        except helm.HelmError as error:
            results.append({"error": str(error)})
    print(json.dumps(results))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    render = sub.add_parser("render")
    render.add_argument("chart")
    render.add_argument("values")
    render.add_argument("--name", required=True)
    render.add_argument("--namespace", required=True)
    render.set_defaults(run=command_render)
    norm = sub.add_parser("normalize")
    norm.add_argument("manifests")
    norm.set_defaults(run=command_normalize)
    lint = sub.add_parser("lint")
    lint.add_argument("chart")
    lint.add_argument("values")
    lint.add_argument("--namespace", default="lattice")
    lint.set_defaults(run=command_lint)
    validate = sub.add_parser("validate")
    validate.add_argument("manifests")
    validate.add_argument("--kubernetes-version", default="1.27.0")
    validate.set_defaults(run=command_validate)
    strvals = sub.add_parser("strvals")
    strvals.add_argument("expressions")
    strvals.set_defaults(run=command_strvals)
    args = parser.parse_args()
    sys.exit(args.run(args))


if __name__ == "__main__":
    main()
