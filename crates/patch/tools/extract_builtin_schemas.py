#!/usr/bin/env python3
"""Regenerates crates/patch/data/builtin-openapi.json from Kubernetes' published
OpenAPI v3 documents (the `api/openapi-spec/v3/*.json` files of the Kubernetes release
the embedded server imitates, e.g. from the k8s.io/kubernetes Go module).

Usage: extract_builtin_schemas.py <dir with the v3 *.json files> <k8s version> > builtin-openapi.json

The output keeps, for the kinds listed in ROOTS and every definition they reach, only
what patching and server-side apply read: property names and types, `$ref`s, `items`,
`additionalProperties`, the `x-kubernetes-*` list/map/patch extensions, and `default`
on properties that are keys of keyed lists (structured-merge-diff fills a missing key
from it). Descriptions and validation are dropped.
"""
import json
import os
import sys

# (apiVersion, kind) -> served by the embedded server or likely to be.
ROOTS = [
    ("v1", k) for k in [
        "Namespace", "Pod", "Service", "PersistentVolumeClaim", "PersistentVolume",
        "ConfigMap", "Secret", "ServiceAccount", "Event", "Node", "Endpoints",
        "PodTemplate", "ReplicationController", "LimitRange", "ResourceQuota",
        "Binding",
    ]
] + [("apps/v1", k) for k in ["Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "ControllerRevision"]] \
  + [("batch/v1", k) for k in ["Job", "CronJob"]] \
  + [("storage.k8s.io/v1", k) for k in ["StorageClass", "VolumeAttachment", "CSIDriver", "CSINode"]] \
  + [("coordination.k8s.io/v1", "Lease"), ("events.k8s.io/v1", "Event")] \
  + [("rbac.authorization.k8s.io/v1", k) for k in ["Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding"]] \
  + [("discovery.k8s.io/v1", "EndpointSlice")] \
  + [("networking.k8s.io/v1", k) for k in ["NetworkPolicy", "Ingress", "IngressClass"]] \
  + [("policy/v1", "PodDisruptionBudget"), ("scheduling.k8s.io/v1", "PriorityClass")] \
  + [("autoscaling/v1", "Scale")] \
  + [("apiextensions.k8s.io/v1", "CustomResourceDefinition")]

KEEP_EXT = {
    "x-kubernetes-list-type", "x-kubernetes-list-map-keys", "x-kubernetes-map-type",
    "x-kubernetes-patch-strategy", "x-kubernetes-patch-merge-key",
    "x-kubernetes-preserve-unknown-fields", "x-kubernetes-int-or-string",
}
PREFIX = "#/components/schemas/"


def load(directory):
    defs = {}
    for name in sorted(os.listdir(directory)):
        if name.endswith(".json"):
            with open(os.path.join(directory, name)) as f:
                doc = json.load(f)
            defs.update(doc.get("components", {}).get("schemas", {}))
    return defs


def ref_of(schema):
    if "$ref" in schema:
        return schema["$ref"][len(PREFIX):]
    all_of = schema.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1 and "$ref" in all_of[0]:
        return all_of[0]["$ref"][len(PREFIX):]
    return None


def trim(schema, refs, key_fields=()):
    out = {}
    r = ref_of(schema)
    if r is not None:
        refs.add(r)
        out["$ref"] = r
    if "type" in schema:
        out["type"] = schema["type"]
    if "format" in schema and schema["format"] == "int-or-string":
        out["format"] = schema["format"]
    for k, v in schema.items():
        if k in KEEP_EXT:
            out[k] = v
    if "items" in schema:
        out["items"] = trim(schema["items"], refs)
    ap = schema.get("additionalProperties")
    if isinstance(ap, dict):
        out["additionalProperties"] = trim(ap, refs)
    elif ap is not None:
        out["additionalProperties"] = ap
    if "properties" in schema:
        out["properties"] = {
            name: trim(p, refs, ()) for name, p in sorted(schema["properties"].items())
        }
        for name in key_fields:
            p = schema["properties"].get(name)
            if p is not None and "default" in p:
                out["properties"][name]["default"] = p["default"]
    return out


def main():
    directory, version = sys.argv[1], sys.argv[2]
    defs = load(directory)
    kinds = {}
    for name, schema in defs.items():
        for gvk in schema.get("x-kubernetes-group-version-kind", []):
            api_version = gvk["version"] if not gvk["group"] else gvk["group"] + "/" + gvk["version"]
            kinds.setdefault((api_version, gvk["kind"]), name)

    # Which properties of which definitions are keys of a keyed list.
    key_fields = {}
    for name, schema in defs.items():
        for p in schema.get("properties", {}).values():
            keys = p.get("x-kubernetes-list-map-keys")
            if keys is None and p.get("x-kubernetes-patch-merge-key") and not p.get("x-kubernetes-list-type"):
                keys = [p["x-kubernetes-patch-merge-key"]]
            items = p.get("items")
            if keys and items:
                r = ref_of(items)
                if r:
                    key_fields.setdefault(r, set()).update(keys)

    out_defs = {}
    out_kinds = {}
    todo = []
    for api_version, kind in ROOTS:
        name = kinds[(api_version, kind)]
        out_kinds[api_version + "/" + kind] = name
        todo.append(name)
    while todo:
        name = todo.pop()
        if name in out_defs:
            continue
        refs = set()
        out_defs[name] = trim(defs[name], refs, sorted(key_fields.get(name, ())))
        todo.extend(sorted(refs - set(out_defs)))

    json.dump(
        {
            "source": "Kubernetes " + version + " api/openapi-spec/v3 (Apache-2.0, The Kubernetes Authors), trimmed by tools/extract_builtin_schemas.py",
            "kinds": dict(sorted(out_kinds.items())),
            "definitions": dict(sorted(out_defs.items())),
        },
        sys.stdout,
        separators=(",", ":"),
        sort_keys=False,
    )
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
