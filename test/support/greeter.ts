import * as grpc from '@grpc/grpc-js';

/**
 * The gRPC backend of the end-to-end tests: a one-method service with raw-bytes messages whose
 * every answer is the backend's name, so a test sees where each call went.
 */
export const HELLO_PATH = '/trellis.test.Greeter/Hello';
const passThrough = {
  requestSerialize: (bytes: Buffer) => bytes,
  requestDeserialize: (bytes: Buffer) => bytes,
  responseSerialize: (bytes: Buffer) => bytes,
  responseDeserialize: (bytes: Buffer) => bytes,
};
const GREETER: grpc.ServiceDefinition = {
  Hello: { path: HELLO_PATH, requestStream: false, responseStream: false, ...passThrough },
};

export interface Greeter {
  name: string;
  port: number;
  server: grpc.Server;
}

/** A greeter on a free port of `host` (127.0.0.1 unless given). */
export async function startGreeter(name: string, host = '127.0.0.1'): Promise<Greeter> {
  const server = new grpc.Server();
  server.addService(GREETER, {
    Hello: (_call: unknown, callback: grpc.sendUnaryData<Buffer>) =>
      callback(null, Buffer.from(name)),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:0`, grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return { name, port, server };
}

/** One call; resolves with the name of the backend that answered. */
export function hello(client: grpc.Client): Promise<string> {
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(
      HELLO_PATH,
      passThrough.requestSerialize,
      passThrough.responseDeserialize,
      Buffer.alloc(0),
      new grpc.Metadata(),
      { deadline: Date.now() + 5000 },
      (error, reply) => (error ? reject(error) : resolve(reply!.toString())),
    ),
  );
}

/** `count` calls, `concurrency` at a time; the name of the backend that answered each. */
export async function helloMany(
  client: grpc.Client,
  count: number,
  concurrency = 50,
): Promise<string[]> {
  const replies: string[] = [];
  while (replies.length < count) {
    const batch = Math.min(concurrency, count - replies.length);
    replies.push(...(await Promise.all(Array.from({ length: batch }, () => hello(client)))));
  }
  return replies;
}

/** Calls until `backend` answers: each call is an event to await, and each takes a millisecond. */
export async function helloUntil(client: grpc.Client, backend: string): Promise<void> {
  for (let attempt = 0; attempt < 2000; attempt++) if ((await hello(client)) === backend) return;
  throw new Error(`${backend} never answered`);
}

/** A client of `target` (an `xds:///` URI) that takes its configuration from this bootstrap. */
export function xdsClient(target: string, bootstrap: object): grpc.Client {
  return new grpc.Client(target, grpc.credentials.createInsecure(), {
    'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': JSON.stringify(bootstrap),
  });
}
