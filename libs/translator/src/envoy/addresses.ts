import {
  SocketAddress_Protocol,
  type Address,
  type SocketAddress,
} from '../../../envoy-api/generated/envoy/config/core/v3/address';
import type { Duration } from '../../../envoy-api/generated/google/protobuf/duration';

/** A TCP (or, for the X-Ray daemon, UDP) socket address. */
export function socketAddress(
  address: string,
  port: number,
  options: { protocol?: SocketAddress_Protocol; ipv4Compat?: boolean } = {},
): SocketAddress {
  return {
    ...(options.protocol !== undefined && { protocol: options.protocol }),
    address,
    portSpecifier: { $case: 'portValue', value: port },
    ...(options.ipv4Compat === true && { ipv4Compat: true }),
  };
}

export function address(socket: SocketAddress): Address {
  return { address: { $case: 'socketAddress', value: socket } };
}

/** Milliseconds as a protobuf Duration. */
export function duration(milliseconds: number): Duration {
  return {
    seconds: Math.floor(milliseconds / 1000),
    nanos: (milliseconds % 1000) * 1_000_000,
  };
}

export { SocketAddress_Protocol };
