"""deploy/kubernetes/: every manifest against the Kubernetes API's schemas, and against livethread.

kubernetes-validate bundles the API's JSON schemas (no cluster, no network); strict mode also
refuses fields the API does not have, the usual typo. No cluster runs here: what the
manifests promise together (selectors, probes, the drain's time, real setting names) is
checked by reading them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]
from kubernetes_validate import utils as kubernetes  # type: ignore[import-untyped]

from server.settings import PREFIX, Settings

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = sorted((ROOT / "deploy" / "kubernetes").glob("*.yaml"))
# The oldest Kubernetes these are written for (autoscaling/v2, policy/v1 and the sleep-free
# preStop need nothing newer); strict schemas of that release.
KUBERNETES = "1.29.0"
# What uvicorn's graceful stop may take: LIVETHREAD_SHUTDOWN_TIMEOUT's limit in config.yaml.
DRAIN_MARGIN = 5


def _documents() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in MANIFESTS:
        found.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None)
    return found


def _one(kind: str, name: str | None = None) -> dict[str, Any]:
    [found] = [
        d
        for d in _documents()
        if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)
    ]
    return found


@pytest.mark.parametrize(
    "document", _documents(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}"
)
def test_manifest_is_valid_for_the_kubernetes_api(document: dict[str, Any]) -> None:
    """Each manifest validates against Kubernetes 1.29's strict schema for its kind."""
    kubernetes.validate(document, KUBERNETES, strict=True)


def test_every_kind_the_deployment_needs_is_there() -> None:
    """Server and worker Deployments, Service, Ingress, autoscaler, disruption budget, the
    settings' ConfigMap and Secret: all present."""
    kinds = sorted(d["kind"] for d in _documents())
    expected = ["ConfigMap", "Secret", "Deployment", "Deployment", "Service", "Ingress"]
    expected += ["HorizontalPodAutoscaler", "PodDisruptionBudget"]
    assert kinds == sorted(expected)


def test_settings_are_livethread_settings() -> None:
    """Every ConfigMap and Secret key is a real LIVETHREAD_* setting, and together they load
    as livethread's settings (so a misspelt or malformed one fails here, not in a pod)."""
    values = {**_one("ConfigMap")["data"], **_one("Secret")["stringData"]}
    known = {PREFIX + f.upper() for f in Settings.__dataclass_fields__}
    assert set(values) <= known, set(values) - known
    settings = Settings.from_environ(values)
    assert settings.host == "0.0.0.0" and not settings.run_workers
    assert settings.database.startswith("postgresql://") and settings.redis


def test_selectors_and_references_meet() -> None:
    """The Service, autoscaler and disruption budget select the server pods (not the worker),
    and the Ingress reaches the Service's named port."""
    server = _one("Deployment", "livethread-server")
    labels = server["spec"]["template"]["metadata"]["labels"]
    worker_labels = _one("Deployment", "livethread-worker")["spec"]["template"]["metadata"]
    service = _one("Service")
    for selector in (
        service["spec"]["selector"],
        _one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
        server["spec"]["selector"]["matchLabels"],
    ):
        assert selector.items() <= labels.items()
        assert not selector.items() <= worker_labels["labels"].items()
    target = _one("HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "livethread-server")
    [rule] = _one("Ingress")["spec"]["rules"]
    backend = rule["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == service["metadata"]["name"]
    assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}


def test_server_probes_and_drain() -> None:
    """Server pods are ready on /readyz and alive on /healthz, and their grace period covers
    the preStop pause plus livethread's own graceful stop; the ingress keeps idle websockets."""
    pod = _one("Deployment", "livethread-server")["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    pause = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
    shutdown = float(_one("ConfigMap")["data"][f"{PREFIX}SHUTDOWN_TIMEOUT"])
    assert pod["terminationGracePeriodSeconds"] >= pause + shutdown + DRAIN_MARGIN
    annotations = _one("Ingress")["metadata"]["annotations"]
    for timeout in ("proxy-read-timeout", "proxy-send-timeout"):
        assert int(annotations[f"nginx.ingress.kubernetes.io/{timeout}"]) >= 60
