import validateRules from '../../generated/validate-rules.json';
import { messageTypeRegistry } from '../../generated/typeRegistry';
import { decodeAny } from '../any';
import { ResourceValidator, type ValidationFailure } from './resource-validator';
import type { RuleSchema } from './rule-schema';

export type { ValidationFailure } from './resource-validator';

let envoyRules: ResourceValidator | undefined;

/**
 * Checks a message of the generated Envoy types (`typeName` is its fully-qualified name, e.g.
 * `envoy.config.listener.v3.Listener`) against the protoc-gen-validate rules of Envoy's protos,
 * including the messages packed in its Any fields. Envoy rejects a resource that breaks one, so
 * a resource with failures must not be sent.
 */
export function validateResource(typeName: string, message: unknown): ValidationFailure[] {
  if (!messageTypeRegistry.has(typeName)) {
    throw new Error(`${typeName} is not a generated Envoy message type`);
  }
  // The JSON is generated from the same schema RuleSchema describes.
  envoyRules ??= new ResourceValidator(validateRules as unknown as RuleSchema, decodeAny);
  return envoyRules.validate(typeName, message);
}
