import { Body, Controller, Headers, HttpCode, Post, Res, UseFilters } from '@nestjs/common';
import type { Response } from 'express';
import {
  InvalidInput,
  UnknownOperationException,
} from '../../../../libs/mesh-model/src/cloud-map/errors';
import type {
  OperationInputs,
  OperationName,
} from '../../../../libs/mesh-model/src/generated/servicediscovery-types';
import {
  isCloudMapOperation,
  validateCloudMapInput,
} from '../../../../libs/mesh-model/src/cloud-map/validation';
import { isObject } from '../../../../libs/mesh-model/src/model-validation';
import { actorFrom } from '../app-mesh/app-mesh-request';
import { CLOUD_MAP_CONTENT_TYPE, CloudMapExceptionFilter } from './cloud-map-exception.filter';
import { CloudMapService } from './cloud-map.service';

/** awsJson1_1 names the operation in this header: `Route53AutoNaming_v20170314.<Operation>`. */
const TARGET_PREFIX = 'Route53AutoNaming_v20170314.';

type Handler<O extends OperationName> = (
  service: CloudMapService,
  input: OperationInputs[O],
  actor: string,
) => Promise<Record<string, unknown>>;

/** Every operation of the model, to its service method. */
const HANDLERS: { [O in OperationName]: Handler<O> } = {
  CreateHttpNamespace: (s, input, actor) => s.CreateHttpNamespace(input, actor),
  CreatePrivateDnsNamespace: (s, input, actor) => s.CreatePrivateDnsNamespace(input, actor),
  CreatePublicDnsNamespace: (s, input, actor) => s.CreatePublicDnsNamespace(input, actor),
  GetNamespace: (s, input) => s.GetNamespace(input),
  ListNamespaces: (s, input) => s.ListNamespaces(input),
  UpdateHttpNamespace: (s, input, actor) => s.UpdateHttpNamespace(input, actor),
  UpdatePrivateDnsNamespace: (s, input, actor) => s.UpdatePrivateDnsNamespace(input, actor),
  UpdatePublicDnsNamespace: (s, input, actor) => s.UpdatePublicDnsNamespace(input, actor),
  DeleteNamespace: (s, input) => s.DeleteNamespace(input),
  CreateService: (s, input, actor) => s.CreateService(input, actor),
  GetService: (s, input) => s.GetService(input),
  ListServices: (s, input) => s.ListServices(input),
  UpdateService: (s, input, actor) => s.UpdateService(input, actor),
  DeleteService: (s, input, actor) => s.DeleteService(input, actor),
  RegisterInstance: (s, input, actor) => s.RegisterInstance(input, actor),
  DeregisterInstance: (s, input, actor) => s.DeregisterInstance(input, actor),
  GetInstance: (s, input) => s.GetInstance(input),
  ListInstances: (s, input) => s.ListInstances(input),
  GetInstancesHealthStatus: (s, input) => s.GetInstancesHealthStatus(input),
  UpdateInstanceCustomHealthStatus: (s, input, actor) =>
    s.UpdateInstanceCustomHealthStatus(input, actor),
  DiscoverInstances: (s, input) => s.DiscoverInstances(input),
  DiscoverInstancesRevision: (s, input) => s.DiscoverInstancesRevision(input),
  GetOperation: (s, input) => s.GetOperation(input),
  ListOperations: (s, input) => s.ListOperations(input),
  ListTagsForResource: (s, input) => s.ListTagsForResource(input),
  TagResource: (s, input) => s.TagResource(input),
  UntagResource: (s, input) => s.UntagResource(input),
};

/**
 * Cloud Map (servicediscovery 2017-03-14) as the AWS SDKs and CLI speak it: awsJson1_1, every
 * operation a `POST /` named by `X-Amz-Target`. Input is checked against the model here; the
 * rules are CloudMapService's.
 */
@Controller()
@UseFilters(CloudMapExceptionFilter)
export class CloudMapController {
  constructor(private readonly service: CloudMapService) {}

  @Post('/')
  @HttpCode(200)
  async call(
    @Headers('x-amz-target') target: string | undefined,
    @Headers('authorization') authorization: string | undefined,
    @Body() body: unknown,
    @Res({ passthrough: true }) response: Response,
  ): Promise<Record<string, unknown>> {
    const operation = target?.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : '';
    if (!isCloudMapOperation(operation)) {
      throw new UnknownOperationException(
        `X-Amz-Target ${JSON.stringify(target ?? '')} names no Cloud Map operation (expected ${TARGET_PREFIX}<Operation>)`,
      );
    }
    const input = body ?? {};
    if (!isObject(input)) throw new InvalidInput('The request body must be a JSON object');
    validateCloudMapInput(operation, input);
    const handler = HANDLERS[operation as OperationName] as Handler<OperationName>;
    const output = await handler(this.service, input, actorFrom(authorization));
    response.setHeader('content-type', CLOUD_MAP_CONTENT_TYPE);
    return output;
  }
}
