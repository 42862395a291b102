import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The engine's Prometheus metrics, in a registry of its own (the admin API merges it into /metrics). */
export class XdsMetrics {
  readonly registry = new Registry();
  readonly responses = new Counter({
    name: 'trellis_xds_responses_total',
    help: 'Discovery responses sent, by resource type',
    labelNames: ['type'],
    registers: [this.registry],
  });
  readonly acks = new Counter({
    name: 'trellis_xds_acks_total',
    help: 'Responses proxies acknowledged, by resource type',
    labelNames: ['type'],
    registers: [this.registry],
  });
  readonly nacks = new Counter({
    name: 'trellis_xds_nacks_total',
    help: 'Responses proxies rejected, by resource type',
    labelNames: ['type'],
    registers: [this.registry],
  });
  readonly validationFailures = new Counter({
    name: 'trellis_xds_validation_failures_total',
    help: 'Resources withheld because they break Envoy validation rules, by resource type',
    labelNames: ['type'],
    registers: [this.registry],
  });
  readonly refusedStreams = new Counter({
    name: 'trellis_xds_streams_refused_total',
    help: 'ADS streams ended with INVALID_ARGUMENT before being served, by reason (node: the node identity breaks a limit; request: a request breaks a limit)',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly unknownTypeRequests = new Counter({
    name: 'trellis_xds_unknown_type_requests_total',
    help: 'Discovery requests for a type_url Trellis does not serve (answered with nothing; shown in proxy status)',
    labelNames: ['protocol'],
    registers: [this.registry],
  });
  readonly pushLatency = new Histogram({
    name: 'trellis_xds_push_latency_seconds',
    help: 'Time from a configuration change being published to the proxy acknowledging it',
    labelNames: ['type'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly bytesEncoded = new Counter({
    name: 'trellis_xds_bytes_encoded_total',
    help: 'Bytes of Envoy resources encoded (each distinct resource once)',
    registers: [this.registry],
  });
  readonly bytesSent = new Counter({
    name: 'trellis_xds_bytes_sent_total',
    help: 'Bytes of discovery responses written to streams',
    registers: [this.registry],
  });

  constructor(connectedByMesh: () => Map<string, number>) {
    new Gauge({
      name: 'trellis_xds_connected_proxies',
      help: 'Proxies with an open ADS stream, by mesh',
      labelNames: ['mesh'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [mesh, count] of connectedByMesh()) this.set({ mesh }, count);
      },
    });
  }
}
