import { messageTypeRegistry } from '../../envoy-api/generated/typeRegistry';
import '../../envoy-api/generated/register-all';
import { typeNameOf } from '../../envoy-api/src/any';
import type { XdsResource } from '../../xds-types/src/resource-types';
import {
  CLUSTER,
  CLUSTER_LOAD_ASSIGNMENT,
  LISTENER,
  ROUTE_CONFIGURATION,
  SECRET,
  type TypeUrl,
} from '../../xds-types/src/resource-types';
import { validateResource } from '../../envoy-api/src/validation/validate-resource';
import {
  OUTPUTS,
  UPDATE_GOLDEN,
  caseNames,
  deleteOrphanedOutputs,
  orphanedOutputs,
  readCase,
  readGolden,
  writeGolden,
  type Output,
} from '../test/golden-cases';
import { consistencyProblems } from './consistency';
import { proxyIr, translate } from './translate';

const OUTPUT_TYPES: Record<Exclude<Output, 'errors'>, TypeUrl> = {
  listeners: LISTENER,
  routes: ROUTE_CONFIGURATION,
  clusters: CLUSTER,
  endpoints: CLUSTER_LOAD_ASSIGNMENT,
  secrets: SECRET,
};

function messageType(resource: XdsResource) {
  const type = messageTypeRegistry.get(typeNameOf(resource.typeUrl));
  if (type === undefined) throw new Error(`no generated type for ${resource.typeUrl}`);
  return type;
}

/** A resource as proto3 JSON, Any contents expanded with their `@type`. */
function asJson(resource: XdsResource): unknown {
  return messageType(resource).toJSON(resource.message);
}

describe.each(caseNames())('translation golden case %s', (name) => {
  const goldenCase = readCase(name);
  const translation = translate(goldenCase.mesh, goldenCase.proxy, goldenCase.registry);

  const produced: Record<Output, unknown[]> = {
    listeners: [],
    routes: [],
    clusters: [],
    endpoints: [],
    secrets: [],
    errors: translation.errors,
  };
  for (const [output, typeUrl] of Object.entries(OUTPUT_TYPES) as [Output, TypeUrl][]) {
    produced[output] = translation.resources
      .filter((resource) => resource.typeUrl === typeUrl)
      .map(asJson);
  }

  it.each(OUTPUTS)('produces the golden %s', (output) => {
    if (UPDATE_GOLDEN) writeGolden(name, output, produced[output]);
    const golden = readGolden(name, output) ?? [];
    expect(produced[output]).toEqual(golden);
  });

  it('produces only resources that pass Envoy validation', () => {
    const failures = translation.resources.flatMap((resource) =>
      validateResource(typeNameOf(resource.typeUrl), resource.message).map(
        (failure) => `${resource.name}: ${failure.path}: ${failure.message}`,
      ),
    );
    expect(failures).toEqual([]);
  });

  it('produces resources that survive encoding, as a proxy receives them', () => {
    for (const resource of translation.resources) {
      const type = messageType(resource);
      const received = type.decode(type.encode(resource.message).finish());
      expect(type.toJSON(received)).toEqual(type.toJSON(resource.message));
    }
  });

  it('produces a consistent configuration', () => {
    const { ir } = proxyIr(goldenCase.mesh, goldenCase.proxy, goldenCase.registry);
    expect(consistencyProblems(ir)).toEqual([]);
  });

  it('produces the same resources from the same snapshot', () => {
    const again = translate(goldenCase.mesh, goldenCase.proxy, goldenCase.registry);
    expect(again.resources.map(asJson)).toEqual(translation.resources.map(asJson));
  });
});

describe('golden files', () => {
  it('all belong to an input', () => {
    if (UPDATE_GOLDEN) deleteOrphanedOutputs();
    expect(orphanedOutputs()).toEqual([]);
  });
});
