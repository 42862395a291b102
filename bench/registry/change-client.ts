import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppMeshHttp } from '../rest/app-mesh-http';
import { wallClock } from '../xds/wall-clock';
import { INSTANCE_ADDRESS, scheduledChange } from './instance-schedule';

// The registry benchmark's writer, in a process of its own: RegisterInstance and
// DeregisterInstance through the Cloud Map API, spread evenly over the services, each service's
// changes one after another (instance-schedule.ts), at a fixed total rate.

/** Parent → change client. */
export interface ChangeLoad {
  kind: 'run';
  baseUrl: string;
  /** Cloud Map service ids, one per watched service. */
  serviceIds: string[];
  /** Changes per second over all services. */
  perSecond: number;
  durationMs: number;
}

/** Change client → parent. */
export type ChangeEvent =
  | {
      kind: 'done';
      /** Per service, when change k's answer arrived (wall clock, ms); index 0 unused. */
      answeredAt: number[][];
      /** Changes answered with 200 within the run, and the run's length. */
      changes: number;
      windowMs: number;
      /** API latencies of the changes, ms. */
      latenciesMs: number[];
      /** Changes sent later than scheduled because the previous one of the service was slow. */
      late: number;
      errors: number;
      errorSamples: string[];
    }
  | { kind: 'failed'; message: string };

async function run(load: ChangeLoad): Promise<Extract<ChangeEvent, { kind: 'done' }>> {
  const http = new AppMeshHttp(load.baseUrl, load.serviceIds.length);
  const services = load.serviceIds.length;
  const intervalMs = (1000 * services) / load.perSecond;
  const answeredAt = load.serviceIds.map(() => [0]);
  const latenciesMs: number[] = [];
  const errorSamples: string[] = [];
  let errors = 0;
  let late = 0;
  const started = performance.now();
  const deadline = started + load.durationMs;
  await Promise.all(
    load.serviceIds.map(async (serviceId, service) => {
      // Services start staggered so that the rate is even across each interval.
      for (let k = 1; ; k++) {
        const due = started + (service / services) * intervalMs + (k - 1) * intervalMs;
        // A run ends on time: changes a slow server kept from being sent are not sent later.
        if (due >= deadline || performance.now() >= deadline) break;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        else if (wait < -intervalMs) late++;
        const change = scheduledChange(k);
        const response =
          change.operation === 'register'
            ? await http.cloudMap('RegisterInstance', {
                ServiceId: serviceId,
                InstanceId: change.instanceId,
                Attributes: {
                  AWS_INSTANCE_IPV4: INSTANCE_ADDRESS,
                  AWS_INSTANCE_PORT: String(change.port),
                },
              })
            : await http.cloudMap('DeregisterInstance', {
                ServiceId: serviceId,
                InstanceId: change.instanceId,
              });
        if (response.status !== 200) {
          // The schedule cannot go on for this service: later sets would not match it.
          errors++;
          if (errorSamples.length < 5) {
            errorSamples.push(
              `${change.operation} ${change.instanceId}: ${response.status} ${JSON.stringify(response.body)}`,
            );
          }
          break;
        }
        answeredAt[service]!.push(wallClock());
        latenciesMs.push(response.latencyMs);
      }
    }),
  );
  http.close();
  return {
    kind: 'done',
    answeredAt,
    changes: latenciesMs.length,
    windowMs: performance.now() - started,
    latenciesMs,
    late,
    errors,
    errorSamples,
  };
}

process.on('message', (load: ChangeLoad) => {
  run(load).then(
    (done) => process.send?.(done),
    (error: unknown) =>
      process.send?.({
        kind: 'failed',
        message: error instanceof Error ? error.message : String(error),
      }),
  );
});
process.on('disconnect', () => process.exit(0));
