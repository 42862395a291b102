import { Controller, Get, Header, Inject } from '@nestjs/common';
import { Registry } from 'prom-client';

export const METRICS_REGISTRY = Symbol('MetricsRegistry');

/** Prometheus metrics of every role running in this process. */
@Controller('metrics')
export class MetricsController {
  constructor(@Inject(METRICS_REGISTRY) private readonly registry: Registry) {}

  @Get()
  @Header('content-type', Registry.PROMETHEUS_CONTENT_TYPE)
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
