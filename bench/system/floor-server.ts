import * as grpc from '@grpc/grpc-js';
import { BinaryReader } from '@bufbuild/protobuf/wire';
import { wallClock } from '../xds/wall-clock';

// The floor: the least a gRPC server on grpc-js can do for a configuration change. It answers
// every ADS stream's first request of each type with pre-encoded response bytes, ignores ACKs,
// and on 'push' writes the same pre-encoded bytes to every stream. No translation, encoding,
// versions or bookkeeping: whatever Trellis takes beyond this is the control plane's own cost.
// State of the world only; runs in a process of its own, driven over IPC.

/** Parent → floor server. */
export type FloorCommand =
  | { kind: 'start'; initial: Record<string, string>; change: string }
  | { kind: 'push' }
  | { kind: 'stop' };

/** Floor server → parent. */
export type FloorEvent =
  | { kind: 'listening'; port: number }
  | { kind: 'pushed'; startedAt: number; streams: number; writtenMs: number }
  | { kind: 'failed'; message: string };

const identity = (bytes: Buffer): Buffer => bytes;

const ADS_SERVICE: grpc.ServiceDefinition = {
  StreamAggregatedResources: {
    path: '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources',
    requestStream: true,
    responseStream: true,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};

/** The type URL of a DiscoveryRequest, and whether it answers a response (has a nonce). */
function requestHead(bytes: Buffer): { typeUrl: string; ack: boolean } {
  const reader = new BinaryReader(bytes);
  let typeUrl = '';
  let ack = false;
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 4) typeUrl = reader.string();
    else if (field === 5) ack = reader.string() !== '';
    else reader.skip(wireType);
  }
  return { typeUrl, ack };
}

function send(event: FloorEvent): void {
  process.send?.(event);
}

const streams = new Set<grpc.ServerDuplexStream<Buffer, Buffer>>();
let initial = new Map<string, Buffer>();
let change = Buffer.alloc(0);
const server = new grpc.Server();
server.addService(ADS_SERVICE, {
  StreamAggregatedResources: (stream: grpc.ServerDuplexStream<Buffer, Buffer>) => {
    streams.add(stream);
    stream.on('data', (request: Buffer) => {
      const { typeUrl, ack } = requestHead(request);
      const response = ack ? undefined : initial.get(typeUrl);
      if (response) stream.write(response);
    });
    stream.on('error', () => streams.delete(stream));
    stream.on('end', () => {
      streams.delete(stream);
      stream.end();
    });
  },
});

process.on('message', (command: FloorCommand) => {
  switch (command.kind) {
    case 'start':
      initial = new Map(
        Object.entries(command.initial).map(([type, bytes]) => [
          type,
          Buffer.from(bytes, 'base64'),
        ]),
      );
      change = Buffer.from(command.change, 'base64');
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => {
        if (error) send({ kind: 'failed', message: error.message });
        else send({ kind: 'listening', port });
      });
      break;
    case 'push': {
      const startedAt = wallClock();
      for (const stream of streams) stream.write(change);
      send({
        kind: 'pushed',
        startedAt,
        streams: streams.size,
        writtenMs: wallClock() - startedAt,
      });
      break;
    }
    case 'stop':
      server.forceShutdown();
      process.disconnect();
      break;
  }
});
process.on('disconnect', () => process.exit(0));
