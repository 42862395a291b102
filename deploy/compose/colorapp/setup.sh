#!/bin/sh
# The Color App mesh, written with the AWS CLI through the App Mesh API, then each proxy's
# Envoy bootstrap from Trellis. Runs once per `docker compose up`; existing resources are kept.
set -eu
mesh=colorapp
api=http://trellis-admin:8080
aws appmesh describe-mesh --mesh-name "$mesh" >/dev/null 2>&1 || {
  aws appmesh create-mesh --mesh-name "$mesh"
  for color in blue green red; do
    aws appmesh create-virtual-node --mesh-name "$mesh" --virtual-node-name "$color" --spec "{
      \"listeners\": [{\"portMapping\": {\"port\": 9080, \"protocol\": \"http\"}}],
      \"serviceDiscovery\": {\"dns\": {\"hostname\": \"$color\"}}}"
  done
  aws appmesh create-virtual-router --mesh-name "$mesh" --virtual-router-name colorteller \
    --spec '{"listeners": [{"portMapping": {"port": 9080, "protocol": "http"}}]}'
  aws appmesh create-route --mesh-name "$mesh" --virtual-router-name colorteller --route-name colors \
    --spec '{"httpRoute": {"match": {"prefix": "/"}, "action": {"weightedTargets": [
      {"virtualNode": "blue", "weight": 1}, {"virtualNode": "green", "weight": 1},
      {"virtualNode": "red", "weight": 1}]}}}'
  aws appmesh create-virtual-service --mesh-name "$mesh" --virtual-service-name colorteller.local \
    --spec '{"provider": {"virtualRouter": {"virtualRouterName": "colorteller"}}}'
  # The gateway: served once Trellis has virtual gateways (until then this call fails and the
  # gateway container has no configuration).
  aws appmesh create-virtual-gateway --mesh-name "$mesh" --virtual-gateway-name gateway \
    --spec '{"listeners": [{"portMapping": {"port": 8088, "protocol": "http"}}]}' &&
  aws appmesh create-gateway-route --mesh-name "$mesh" --virtual-gateway-name gateway \
    --gateway-route-name color --spec '{"httpRoute": {"match": {"prefix": "/color"},
      "action": {"target": {"virtualService": {"virtualServiceName": "colorteller.local"}}}}}' ||
    echo "virtual gateways are not served by this Trellis yet" >&2
}
for color in blue green red; do
  curl -sf "$api/v1/meshes/$mesh/virtualNodes/$color/bootstrap" -o "/bootstrap/$color.yaml"
done
curl -sf "$api/v1/meshes/$mesh/virtualGateways/gateway/bootstrap" -o /bootstrap/gateway.yaml ||
  echo "no gateway bootstrap yet (virtual gateways not served)" >&2
