#!/usr/bin/env bash
# Removes only what the example created: the Deployment and Service labelled
# app.kubernetes.io/part-of=gpuscale-example in vllm-example, and the example HPAs. Shared
# objects (the adapter, its APIServices, monitors in `monitoring`, cluster roles) stay; remove
# those with `helm uninstall`. The namespace stays unless --delete-namespace is given.
set -euo pipefail
ns=vllm-example
kubectl -n "$ns" delete deployment,service -l app.kubernetes.io/part-of=gpuscale-example \
  --ignore-not-found
kubectl -n "$ns" delete hpa -l app.kubernetes.io/part-of=gpuscale --ignore-not-found
if [ "${1:-}" = "--delete-namespace" ]; then
  kubectl delete namespace "$ns" --ignore-not-found
fi
