import { Controller, Get, Headers, Inject, Param, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { stringify } from 'yaml';
import { BadRequestException, NotFoundException } from '../../../libs/mesh-model/src/errors';
import { describeMissing, type ResourceId } from '../../../libs/mesh-model/src/resource-kinds';
import { MeshStore } from '../../../libs/persistence/src/mesh-store';
import { ADMIN_API_OPTIONS, type AdminApiOptions } from './admin-api.options';

/**
 * An Envoy v3 bootstrap for the plain Envoy image: node identity as App Mesh's Envoy image
 * sets it, and ADS (listeners and clusters, hence routes and endpoints too) from Trellis.
 */
@Controller('v1/meshes/:meshName/virtualNodes/:virtualNodeName/bootstrap')
export class BootstrapController {
  constructor(
    private readonly store: MeshStore,
    @Inject(ADMIN_API_OPTIONS) private readonly options: AdminApiOptions,
  ) {}

  @Get()
  async bootstrap(
    @Param('meshName') meshName: string,
    @Param('virtualNodeName') virtualNodeName: string,
    @Query('adminPort') adminPortParam: unknown,
    @Headers('accept') accept: string | undefined,
    @Res() response: Response,
  ): Promise<void> {
    const id: ResourceId = { meshName, kind: 'virtualNode', parentName: '', name: virtualNodeName };
    if (!(await this.store.get(id)))
      throw new NotFoundException(describeMissing(id, this.options.accountId));
    const adminPort = adminPortParam === undefined ? 9901 : Number(adminPortParam);
    if (!Number.isInteger(adminPort) || adminPort < 1 || adminPort > 65535) {
      throw new BadRequestException('adminPort: must be an integer from 1 to 65535');
    }
    const document = envoyBootstrap(
      `mesh/${meshName}/virtualNode/${virtualNodeName}`,
      this.options.xdsAddress,
      adminPort,
    );
    if (accept?.includes('application/json')) {
      response.json(document);
    } else {
      response.type('application/yaml').send(stringify(document));
    }
  }
}

/** The bootstrap document, in Envoy's proto3 JSON form. */
export function envoyBootstrap(
  nodeId: string,
  xdsAddress: { host: string; port: number },
  adminPort: number,
): object {
  const xdsCluster = 'trellis_xds';
  return {
    node: { id: nodeId, cluster: nodeId },
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: adminPort } } },
    dynamic_resources: {
      ads_config: {
        api_type: 'GRPC',
        transport_api_version: 'V3',
        set_node_on_first_message_only: true,
        grpc_services: [{ envoy_grpc: { cluster_name: xdsCluster } }],
      },
      lds_config: { ads: {}, resource_api_version: 'V3' },
      cds_config: { ads: {}, resource_api_version: 'V3' },
    },
    static_resources: {
      clusters: [
        {
          name: xdsCluster,
          type: 'STRICT_DNS',
          connect_timeout: '1s',
          typed_extension_protocol_options: {
            'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
              '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
              explicit_http_config: { http2_protocol_options: {} },
            },
          },
          load_assignment: {
            cluster_name: xdsCluster,
            endpoints: [
              {
                lb_endpoints: [
                  {
                    endpoint: {
                      address: {
                        socket_address: { address: xdsAddress.host, port_value: xdsAddress.port },
                      },
                    },
                  },
                ],
              },
            ],
          },
        },
      ],
    },
  };
}
